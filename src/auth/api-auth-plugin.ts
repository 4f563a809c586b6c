import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../http/errors.js';
import { rateLimitHeaders, type AuthAttempt, type Authenticator } from './authenticator.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What verification learned, refused or not: for the audit log. */
    authAttempt: AuthAttempt | null;
  }
}

/**
 * Puts every route of the context it is registered in behind an API key. A route must say which scope it
 * needs (`config.scope`, or `null` for any valid key): a route that forgets is refused at startup, never
 * left open by accident.
 */
async function apiAuth(app: FastifyInstance, options: { authenticator: Authenticator }): Promise<void> {
  app.decorateRequest('principal', null);
  app.decorateRequest('authAttempt', null);

  app.addHook('onRoute', (route) => {
    const scope = (route.config as { scope?: unknown } | undefined)?.scope;
    if (scope === undefined) throw new Error(`${route.method} ${route.url} must declare config.scope (or null)`);
  });

  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const attempt: AuthAttempt = {};
    request.authAttempt = attempt;
    const { principal, rateLimit } = await options.authenticator.authenticate(request.headers.authorization, request.ip, attempt);
    request.principal = principal;
    reply.headers(rateLimitHeaders(rateLimit));
    const scope = request.routeOptions.config.scope;
    if (scope && !principal.scopes.has(scope)) {
      throw new AppError('insufficient_scope', `This API key does not have the ${scope} scope, which ${request.method} ${request.routeOptions.url} needs.`, {
        headers: { 'WWW-Authenticate': `Bearer realm="latchkey", error="insufficient_scope", scope="${scope}"` },
      });
    }
    attempt.passed = true;
  });
}

export default fp(apiAuth, { name: 'latchkey-api-auth' });
