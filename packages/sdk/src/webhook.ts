import { createHmac, timingSafeEqual } from 'node:crypto';

/** What Latchkey sends to a webhook endpoint (PRODUCT.md "Events out"): never a secret. */
export interface WebhookEvent<Data = Record<string, unknown>> {
  id: string;
  type: string;
  created_at: string;
  workspace: { id: string; external_id: string | null } | null;
  mode?: 'live' | 'test';
  data: Data;
}

export type WebhookErrorCode = 'missing_signature' | 'malformed_signature' | 'invalid_signature' | 'timestamp_out_of_tolerance' | 'malformed_body';

/** The request is not a delivery from Latchkey, or too old to trust: answer 400 and do not act on it. */
export class LatchkeyWebhookError extends Error {
  override readonly name = 'LatchkeyWebhookError';
  constructor(
    readonly code: WebhookErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface VerifyWebhookOptions {
  /** How old a signature may be (seconds, default 300): a replayed delivery older than this is refused. */
  toleranceSeconds?: number;
  /** The current time, for tests. */
  now?: () => Date;
}

/** Default tolerance between the signature's timestamp and now, either way (seconds). */
export const DEFAULT_WEBHOOK_TOLERANCE_S = 300;

/**
 * Checks a delivery's `Latchkey-Signature` (`t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, one `v1`
 * per signing secret) against your endpoint's secret, and returns the parsed event.
 *
 * `body` must be the raw bytes as received (a parsed and re-serialized JSON differs). Any one `v1` that
 * matches is enough: during a rotation's 24 h overlap each delivery carries one per secret, so the old and
 * the new secret both verify. Comparison is in constant time.
 */
export function verifyWebhook<Data = Record<string, unknown>>(
  body: string | Uint8Array,
  header: string | null | undefined,
  secret: string,
  options: VerifyWebhookOptions = {},
): WebhookEvent<Data> {
  if (!header) throw new LatchkeyWebhookError('missing_signature', 'No Latchkey-Signature header: this request did not come from Latchkey');
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    const name = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (name === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) {
    throw new LatchkeyWebhookError('malformed_signature', 'Latchkey-Signature must hold t=<unix seconds> and at least one v1=<hex HMAC-SHA256>');
  }
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(raw).digest();
  if (!signatures.some((signature) => timingSafeEqual(Buffer.from(signature, 'hex'), expected))) {
    throw new LatchkeyWebhookError('invalid_signature', 'No signature in Latchkey-Signature matches this secret and body (is the body the raw bytes received?)');
  }
  const tolerance = options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_S;
  const nowSeconds = Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
  if (Math.abs(nowSeconds - timestamp) > tolerance) {
    throw new LatchkeyWebhookError('timestamp_out_of_tolerance', `The signature is ${nowSeconds - timestamp} s old; at most ${tolerance} s is accepted (a replay, or a clock far off)`);
  }
  try {
    return JSON.parse(raw.toString('utf8')) as WebhookEvent<Data>;
  } catch {
    throw new LatchkeyWebhookError('malformed_body', 'The signed body is not JSON');
  }
}
