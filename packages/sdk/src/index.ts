import type { RequestHandler } from 'express';
import type { MiddlewareHandler } from 'hono';
import { expressMiddleware } from './express.js';
import { fastifyHook, type FastifyLatchkeyHook } from './fastify.js';
import { createGuard, type GuardOptions, type VerifiedKey } from './guard.js';
import { honoMiddleware, type ClientIp, type LatchkeyEnv } from './hono.js';
import { createVerifier, type VerifierOptions, type VerifyAnswer, type VerifyRequest } from './verify.js';

export { createClient, type ClientOptions, type LatchkeyClient, type paths, type components } from './client.js';
export { decide, bearerToken, type Decision, type ErrorBody, type GuardOptions, type RequestFacts, type VerifiedKey } from './guard.js';
export { LatchkeyError, type VerifyAnswer, type VerifyRequest, DEFAULT_TIMEOUT_MS } from './verify.js';
export { LatchkeyUnavailableError } from './transport.js';
export type { FastifyLatchkeyHook } from './fastify.js';
export { nodeServerClientIp, type LatchkeyEnv, type ClientIp } from './hono.js';
export { verifyWebhook, LatchkeyWebhookError, DEFAULT_WEBHOOK_TOLERANCE_S, type WebhookEvent, type WebhookErrorCode, type VerifyWebhookOptions } from './webhook.js';
export { verifyPrincipal, LatchkeyPrincipalError, type PrincipalClaims, type PrincipalErrorCode, type VerifyPrincipalOptions } from './principal.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own way to add to its Request
  namespace Express {
    interface Request {
      /** The key Latchkey verified for this request (set by latchkey.express()). */
      latchkey?: VerifiedKey;
    }
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The key Latchkey verified for this request (set by latchkey.fastify()). */
    latchkey?: VerifiedKey;
  }
}

export interface LatchkeyOptions extends VerifierOptions {
  /**
   * Told about every verify call that could not be made (Latchkey away, too slow, or refusing the service
   * key). The request is refused either way; this is for your logs. Default: a line on stderr, at most every 10 s.
   */
  onError?: (error: Error) => void;
}

/** One line on stderr at most every 10 s: with Latchkey away, a line per request would flood the log. */
function stderrAtMostEvery10s(): (error: Error) => void {
  let last = 0;
  let skipped = 0;
  return (error) => {
    if (Date.now() - last < 10_000) {
      skipped++;
      return;
    }
    last = Date.now();
    const more = skipped > 0 ? ` (and ${skipped} more since the last line)` : '';
    skipped = 0;
    process.stderr.write(`@latchkey/sdk: ${error.name}: ${error.message}${more}\n`);
  };
}

/**
 * Latchkey for your API: `verify()` and the middleware of Express, Fastify and Hono, sharing one verify
 * connection pool. Each middleware refuses exactly as Latchkey's own API does, and fails closed.
 */
export interface Latchkey {
  /** POST /v1/keys/verify: Latchkey's answer for a key and what the call needs. */
  verify(request: VerifyRequest): Promise<VerifyAnswer>;
  /** Express 5 middleware: `app.get('/v1/invoices', latchkey.express({ scope: 'invoices:read' }), handler)`. */
  express(options?: GuardOptions): RequestHandler;
  /** A Fastify 5 onRequest hook: `app.get('/v1/invoices', { onRequest: latchkey.fastify({ scope }) }, handler)`. */
  fastify(options?: GuardOptions): FastifyLatchkeyHook;
  /** Hono 4 middleware: `app.get('/v1/invoices', latchkey.hono({ scope }), handler)`; then `c.get('latchkey')`. */
  hono(options?: GuardOptions & { clientIp?: ClientIp }): MiddlewareHandler<LatchkeyEnv>;
  /** Closes the kept-alive connections to Latchkey (at shutdown). */
  close(): void;
}

export function createLatchkey(options: LatchkeyOptions): Latchkey {
  const verifier = createVerifier(options);
  const onError = options.onError ?? stderrAtMostEvery10s();
  return {
    verify: verifier.verify,
    express: (guard = {}) => expressMiddleware(createGuard(verifier, guard, onError)),
    fastify: (guard = {}) => fastifyHook(createGuard(verifier, guard, onError)),
    hono: (guard = {}) => honoMiddleware(createGuard(verifier, guard, onError), guard.clientIp),
    close: verifier.close,
  };
}
