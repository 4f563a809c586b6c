import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AppError } from '../http/errors.js';

/** A JSON body up to this size is kept (redacted) as the audit event's payload; a larger one only hashed. */
export const CAPTURED_BODY_BYTES = 16 * 1024;

/**
 * Stands between the client's request body and the upstream: the bytes flow through as they come (an
 * upload of any size holds one chunk in memory at a time), counted against the limit, hashed for the
 * audit log's argument hash, and, when the body is JSON and small, kept for the audit payload. Past the
 * limit the stream fails with 413 payload_too_large, which aborts the upstream request.
 */
export class BodyMeter extends Transform {
  bytes = 0;
  /** The body went past the limit: the stream failed with payload_too_large. */
  tooLarge = false;
  /** Set when the body has been read to its end. */
  sha256: string | null = null;
  private readonly hash: Hash = createHash('sha256');
  private kept: Buffer[] | null;
  private keptBytes = 0;

  constructor(
    private readonly limit: number,
    capture: boolean,
    private readonly onComplete: (meter: BodyMeter) => void,
  ) {
    super();
    this.kept = capture ? [] : null;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      this.tooLarge = true;
      callback(bodyTooLarge(this.limit));
      return;
    }
    this.hash.update(chunk);
    if (this.kept !== null) {
      this.keptBytes += chunk.length;
      if (this.keptBytes > CAPTURED_BODY_BYTES) this.kept = null;
      else this.kept.push(chunk);
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.sha256 = this.hash.digest('hex');
    this.onComplete(this);
    callback();
  }

  /** The body parsed as JSON, if it was captured whole and is JSON; else undefined. */
  capturedJson(): unknown {
    if (this.kept === null || this.sha256 === null || this.keptBytes === 0) return undefined;
    try {
      return JSON.parse(Buffer.concat(this.kept).toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }
}

export function bodyTooLarge(limit: number): AppError {
  return new AppError('payload_too_large', `The request body is larger than this gateway's limit of ${formatBytes(limit)}.`);
}

function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return mib >= 1 ? `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB` : `${Math.floor(bytes / 1024)} KiB`;
}
