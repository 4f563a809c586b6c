import type { RequestHandler } from 'express';
import { LatchkeyPrincipalError, verifyPrincipal, type VerifyPrincipalOptions } from '@latchkey/sdk';
import type { Protect } from './app.js';

/** One line now and then: a misrouted client calling in a loop must not flood the log. */
let lastWarning = 0;
function warnOfKeyHere(): void {
  if (Date.now() - lastWarning < 10_000) return;
  lastWarning = Date.now();
  console.warn('an Authorization header reached the invoices API: calls must come through the Latchkey gateway, which keeps keys away from us');
}

/**
 * Behind Latchkey's gateway: the gateway has checked the key, its scopes and limits, and tells us who
 * called in `Latchkey-Principal`. We accept a call only with a principal it signed for us, holding the
 * route's scope (the gateway's routes say the same; checking again costs nothing and guards a route the
 * product file might forget). Anything else did not come through the gateway: 401.
 */
export function gatewayGuard(options: VerifyPrincipalOptions): Protect {
  return (scope): RequestHandler =>
    async (req, res, next) => {
      if (req.headers.authorization !== undefined) warnOfKeyHere();
      try {
        const principal = await verifyPrincipal(req.headers['latchkey-principal'], options);
        if (!principal.scopes.includes(scope)) {
          res.status(403).json({ error: { code: 'insufficient_scope', message: `This call needs the ${scope} scope.` } });
          return;
        }
        req.principal = principal;
        next();
      } catch (error) {
        if (!(error instanceof LatchkeyPrincipalError)) throw error;
        if (error.code === 'jwks_unavailable') {
          console.error(error.message);
          res.status(503).json({ error: { code: 'service_unavailable', message: 'Callers cannot be checked right now. Retry later.' } });
          return;
        }
        res.status(401).json({ error: { code: 'unauthorized', message: 'Call this API through its gateway, with an API key.' } });
      }
    };
}
