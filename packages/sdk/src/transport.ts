import { Pool } from 'undici';

export interface HttpAnswer {
  status: number;
  body: string;
}

/** Latchkey could not be asked: unreachable, too slow, or answering 5xx. The middleware fails closed on it. */
export class LatchkeyUnavailableError extends Error {
  override readonly name = 'LatchkeyUnavailableError';
}

/** An idle connection is closed before the server's keep-alive timeout (Fastify's: 72 s) can race a new request. */
const IDLE_MS = 30_000;
/** A verify answer is a small JSON object; anything this large is not one. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * JSON POSTs to Latchkey over undici's pool of kept-alive HTTP/1.1 connections (no Nagle delay), each
 * with a deadline for the whole exchange, connecting included. The verify call sits on every request of
 * the API it guards, and undici costs a fraction of node:http's client per call. Any answer it cannot read
 * is an error, and an error is "unavailable": never a pass.
 */
export function createTransport(baseUrl: string, connections = 64) {
  const base = new URL(baseUrl);
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new TypeError(`latchkey: baseUrl must be http: or https:, not ${base.protocol}`);
  const prefix = base.pathname.replace(/\/+$/, '');
  const pool = new Pool(base.origin, { connections, keepAliveTimeout: IDLE_MS, keepAliveMaxTimeout: IDLE_MS, connect: { noDelay: true } });
  let closed = false;

  async function post(path: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<HttpAnswer> {
    if (closed) throw new LatchkeyUnavailableError('the Latchkey client is closed');
    try {
      const answer = await pool.request({
        method: 'POST',
        path: `${prefix}${path}`,
        headers: { ...headers, 'content-type': 'application/json' },
        body,
        // One deadline for the whole exchange; a late answer is dropped with its connection, never read by the next call.
        signal: AbortSignal.timeout(timeoutMs),
      });
      const length = Number(answer.headers['content-length'] ?? 0);
      if (length > MAX_ANSWER_BYTES) {
        answer.body.destroy();
        throw new LatchkeyUnavailableError(`Latchkey answered ${length} bytes, more than a verify answer holds`);
      }
      return { status: answer.statusCode, body: await answer.body.text() };
    } catch (error) {
      if (error instanceof LatchkeyUnavailableError) throw error;
      const reason = (error as Error).name === 'TimeoutError' ? `did not answer within ${timeoutMs} ms` : `could not be reached: ${(error as Error).message}`;
      throw new LatchkeyUnavailableError(`Latchkey ${reason}`);
    }
  }

  function close(): void {
    closed = true;
    void pool.destroy().catch(() => undefined);
  }

  return { post, close };
}

export type Transport = ReturnType<typeof createTransport>;
