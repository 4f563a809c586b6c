import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import { nonPublicAddressReason } from '../api/webhook-url.js';
import { redactSecrets } from '../audit/redact.js';

/** A delivery's whole time, from connecting to the last byte read: past it the attempt failed. */
export const SEND_TIMEOUT_MS = 10_000;
/** How much of an answer is read before the connection is dropped: a receiver cannot make us download a file. */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** How much of that is kept with the attempt, to show what the receiver said. */
export const MAX_EXCERPT_BYTES = 1024;

export interface SendResult {
  /** The answer's status, or null when none came (refused address, DNS, connection, timeout). */
  statusCode: number | null;
  /** Why the attempt failed, in a sentence; null when it delivered (2xx). */
  error: string | null;
  /** The start of the answer's body, secrets redacted. */
  excerpt: string | null;
  durationMs: number;
}

export interface Sender {
  send(url: string, body: string, headers: Record<string, string>): Promise<SendResult>;
  /** Waits for the sends under way. */
  close(): Promise<void>;
  /** Drops the sends under way. */
  destroy(): Promise<void>;
}

/** The connection was not made: the address is one deliveries must not reach. */
class RefusedAddressError extends Error {
  readonly code = 'LATCHKEY_ADDRESS_REFUSED';
}

const ALLOW_HINT = 'set EVENTS_ALLOW_PRIVATE_NETWORKS=true to allow it';

function refusal(address: string, hostname: string): RefusedAddressError | null {
  const reason = nonPublicAddressReason(address);
  if (reason === null) return null;
  const where = address === hostname ? `${address} is` : `${hostname} resolves to ${address}, which is`;
  return new RefusedAddressError(`address refused: ${where} ${reason}; ${ALLOW_HINT}`);
}

type LookupCallback = (error: Error | null, address: string | Array<{ address: string; family: number }>, family?: number) => void;

/**
 * The socket's DNS lookup, at connect time: resolves the name and checks EVERY address it resolves to,
 * so that a name that resolved to a public address when the endpoint was saved and to 127.0.0.1 or
 * 169.254.169.254 now (DNS rebinding) is refused, and so is a name with one private address among public
 * ones. The socket connects to the addresses checked here (with Node's happy eyeballs across them),
 * never through a second lookup that could answer differently.
 */
function guardedLookup(hostname: string, options: { family?: number | string; all?: boolean }, callback: LookupCallback): void {
  lookup(hostname, { all: true, order: 'verbatim' }).then(
    (resolved) => {
      for (const { address } of resolved) {
        const refused = refusal(address, hostname);
        if (refused) return callback(refused, '');
      }
      const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : Number(options.family ?? 0);
      const usable = family === 4 || family === 6 ? resolved.filter((entry) => entry.family === family) : resolved;
      const first = usable[0];
      if (first === undefined) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
      if (options.all) callback(null, usable);
      else callback(null, first.address, first.family);
    },
    (error: Error) => callback(error, ''),
  );
}

/** undici's connector with the guarded lookup; a literal IP host (which no lookup sees) is checked here. */
function guardedConnector(timeoutMs: number): buildConnector.connector {
  const connect = buildConnector({ timeout: timeoutMs, lookup: guardedLookup });
  return (options, callback) => {
    const refused = isIP(options.hostname) !== 0 ? refusal(options.hostname, options.hostname) : null;
    if (refused) return callback(refused, null);
    return connect(options, callback);
  };
}

/**
 * The one way Latchkey sends a webhook: a POST that follows no redirect, reads at most 64 KB of the
 * answer, gives up after `timeoutMs`, and (unless `allowPrivateNetworks`) uses HTTPS only and connects
 * only to public addresses.
 */
export function createSender(options: { allowPrivateNetworks: boolean; timeoutMs?: number }): Sender {
  const timeoutMs = options.timeoutMs ?? SEND_TIMEOUT_MS;
  const dispatcher = new Agent({
    connect: options.allowPrivateNetworks ? { timeout: timeoutMs } : guardedConnector(timeoutMs),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 4_000,
  });

  async function send(url: string, body: string, headers: Record<string, string>): Promise<SendResult> {
    const started = performance.now();
    const done = (statusCode: number | null, error: string | null, excerpt: string | null = null): SendResult => ({
      statusCode,
      error,
      excerpt,
      durationMs: Math.round(performance.now() - started),
    });
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return done(null, 'the endpoint URL is not a valid URL');
    }
    if (parsed.protocol === 'http:' && !options.allowPrivateNetworks) {
      return done(null, `http:// URLs are refused: deliveries use HTTPS unless EVENTS_ALLOW_PRIVATE_NETWORKS=true`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return done(null, 'the endpoint URL is not an http(s) URL');
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const answer = await request(parsed, { dispatcher, method: 'POST', headers, body, signal });
      const excerpt = await readExcerpt(answer.body);
      const status = answer.statusCode;
      if (status >= 200 && status < 300) return done(status, null, excerpt);
      if (status >= 300 && status < 400) return done(status, `answered ${status}: redirects are not followed`, excerpt);
      return done(status, `answered ${status}`, excerpt);
    } catch (error) {
      return done(null, describeFailure(error, parsed, signal.aborted, timeoutMs));
    }
  }

  return {
    send,
    async close() {
      await dispatcher.close();
    },
    async destroy() {
      await dispatcher.destroy();
    },
  };
}

/** Reads up to MAX_ANSWER_BYTES, then drops the connection; keeps the first MAX_EXCERPT_BYTES as text, redacted. */
async function readExcerpt(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string | null> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let read = 0;
  for await (const chunk of body) {
    read += chunk.length;
    if (keptBytes < MAX_EXCERPT_BYTES) {
      const part = chunk.subarray(0, MAX_EXCERPT_BYTES - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
    if (read >= MAX_ANSWER_BYTES) {
      body.destroy();
      break;
    }
  }
  if (keptBytes === 0) return null;
  // A multi-byte character cut at the limit becomes U+FFFD rather than an invalid string.
  return redactSecrets(Buffer.concat(kept).toString('utf8'));
}

/** Why no answer came, as a sentence without the URL (its path or query may hold the receiver's own token). */
function describeFailure(error: unknown, url: URL, timedOut: boolean, timeoutMs: number): string {
  const seconds = `${timeoutMs / 1000} s`;
  if (timedOut) return `no complete answer within ${seconds}`;
  const failure = (error instanceof Error && error.cause instanceof Error ? error.cause : error) as { code?: string; message?: string; errors?: unknown[] };
  const code = failure?.code ?? (error as { code?: string } | null)?.code;
  const host = url.hostname;
  if (error instanceof RefusedAddressError || failure instanceof RefusedAddressError) return (failure as Error).message;
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NODATA':
    case 'EAI_NONAME':
      return `could not resolve ${host} (${code})`;
    case 'ECONNREFUSED':
      return `connection refused by ${host}`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `connection closed by ${host} before it answered`;
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `could not connect to ${host} within ${seconds}`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `no complete answer within ${seconds}`;
    default:
      if (typeof code === 'string' && (code.startsWith('ERR_TLS') || code.startsWith('CERT_') || code.includes('CERT'))) return `TLS failed with ${host} (${code})`;
      return redactSecrets(`could not deliver to ${host}: ${code ?? (error as Error)?.name ?? 'error'}`).slice(0, 300);
  }
}
