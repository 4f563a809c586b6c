import { createTransport, LatchkeyUnavailableError, type Transport } from './transport.js';
import type { VerifyAnswer, VerifyRequest } from './verify-types.js';

export type { VerifyAnswer, VerifyRequest } from './verify-types.js';

/** Latchkey refused the verify call itself (a bad service key, a missing permission, a malformed body): a setup mistake. */
export class LatchkeyError extends Error {
  override readonly name = 'LatchkeyError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface VerifierOptions {
  /** Latchkey's address, e.g. https://latchkey.internal:3000. */
  baseUrl: string;
  /** A service key holding `keys:verify` ({brand}_svc_…). */
  serviceKey: string;
  /** The deadline of one verify call, in milliseconds (default 2000). Past it, the call counts as unavailable. */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 2000;

/**
 * `verify(request)` asks Latchkey whether a key may make a call: POST /v1/keys/verify. It resolves with
 * Latchkey's answer (valid or not: a refused key is an answer, not an error); it rejects with
 * LatchkeyUnavailableError when Latchkey cannot be asked, and LatchkeyError when it refuses the call itself.
 */
export function createVerifier(options: VerifierOptions) {
  // It goes into a header line as it is: a line break in it would be a header of its own.
  if (typeof options.serviceKey !== 'string' || !/^[\x21-\x7e]{1,512}$/.test(options.serviceKey)) throw new TypeError('latchkey: serviceKey must be a service key ({brand}_svc_…)');
  const transport: Transport = createTransport(options.baseUrl);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const headers = { Authorization: `Bearer ${options.serviceKey}`, Accept: 'application/json' };

  async function verify(request: VerifyRequest): Promise<VerifyAnswer> {
    const answer = await transport.post('/v1/keys/verify', headers, JSON.stringify(request), timeoutMs);
    // 5xx and 429 mean "not now": the same as unreachable, so the caller is told to retry, not that its key is bad.
    if (answer.status >= 500 || answer.status === 429 || answer.status === 0) throw new LatchkeyUnavailableError(`Latchkey answered ${answer.status}`);
    let body: unknown;
    try {
      body = JSON.parse(answer.body);
    } catch {
      throw new LatchkeyUnavailableError(`Latchkey answered ${answer.status} with a body that is not JSON`);
    }
    if (answer.status !== 200) {
      const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      const code = typeof error?.code === 'string' ? error.code : 'unknown';
      const message = typeof error?.message === 'string' ? error.message : `Latchkey answered ${answer.status}`;
      throw new LatchkeyError(answer.status, code, `Latchkey refused the verify call: ${answer.status} ${code}: ${message}`);
    }
    return body as VerifyAnswer;
  }

  return { verify, close: transport.close };
}

export type Verifier = ReturnType<typeof createVerifier>;
