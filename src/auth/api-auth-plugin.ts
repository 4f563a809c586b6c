import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../http/errors.js';
import { noRoute } from '../http/error-handler.js';
import type { RateLimitResult } from '../ratelimit/decision.js';
import type { Authenticated, AuthAttempt, Authenticator } from './authenticator.js';

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
 *
 * Each route gets its own hook, made when the route is added, that knows the route's scope: reading
 * `request.routeOptions` on every request builds a new object each time. The hook is a callback, not an
 * async function, so that a cached key (answered without I/O) costs no Promise.
 */
async function apiAuth(app: FastifyInstance, options: { authenticator: Authenticator }): Promise<void> {
  const { authenticator } = options;
  app.decorateRequest('principal', null);
  app.decorateRequest('authAttempt', null);

  app.addHook('onRoute', (route) => {
    const scope = (route.config as { scope?: string | null } | undefined)?.scope;
    if (scope === undefined) throw new Error(`${route.method} ${route.url} must declare config.scope (or null)`);
    const hook = authHook(authenticator, scope, route.url === UNKNOWN_ROUTE);
    // A new array, never a push: Fastify copies a GET route's options for its HEAD route before this
    // hook runs, and a shared array would give the HEAD route the hook twice.
    const own = route.onRequest;
    route.onRequest = own === undefined ? [hook] : [hook, ...(Array.isArray(own) ? own : [own])];
  });

  // Every /api path no route has comes through the same door: a recognised key's call is its own (in its
  // workspace's log, under its rate limit) and answers 404; a call with no recognised key counts against
  // the source IP's failure budget like any other, and without a key at all still answers 404.
  // It answers before the body is read (preParsing), so an unknown route answers 404 whatever the body.
  app.all(
    UNKNOWN_ROUTE,
    { config: { scope: null }, schema: { hide: true }, preParsing: (request, _reply, _payload, next) => next(noRoute(request)) },
    async (request) => {
      throw noRoute(request);
    },
  );
}

const UNKNOWN_ROUTE = '/api/*';

/** On an unknown route, a call without any key is told the route does not exist, as it always was. */
function asUnknownRoute(request: FastifyRequest, error: Error): Error {
  return error instanceof AppError && error.code === 'missing_api_key' ? noRoute(request) : error;
}

function authHook(authenticator: Authenticator, scope: string | null, unknownRoute: boolean): onRequestHookHandler {
  return function verifyApiKey(request, reply, next) {
    authorizeCall(authenticator, request, reply, scope, request.routeOptions.url ?? request.url, unknownRoute ? (error) => next(error && asUnknownRoute(request, error)) : next);
  };
}

/**
 * The one door of every call made with an API key (/api/v1 here, the gateway too): the authenticator's
 * checks, the rate-limit headers, then the scope the route needs (`route` names it in the refusal).
 * `next` is called once, with the refusal or without anything; a cached key answers without a Promise.
 */
export function authorizeCall(
  authenticator: Authenticator,
  request: FastifyRequest,
  reply: FastifyReply,
  scope: string | null,
  route: string,
  next: (error?: Error) => void,
): void {
  const attempt: AuthAttempt = {};
  request.authAttempt = attempt;
  let outcome: Authenticated | Promise<Authenticated>;
  try {
    outcome = authenticator.authenticate(request.headers.authorization, request.ip, attempt);
  } catch (error) {
    next(error as Error);
    return;
  }
  if (outcome instanceof Promise) outcome.then((result) => admit(request, reply, result, attempt, scope, route, next), next);
  else admit(request, reply, outcome, attempt, scope, route, next);
}

function admit(
  request: FastifyRequest,
  reply: FastifyReply,
  result: Authenticated,
  attempt: AuthAttempt,
  scope: string | null,
  route: string,
  next: (error?: Error) => void,
): void {
  request.principal = result.principal;
  setRateLimitHeaders(reply, result.rateLimit);
  if (scope !== null && !result.principal.scopes.has(scope)) {
    next(
      new AppError('insufficient_scope', `This API key does not have the ${scope} scope, which ${request.method} ${route} needs.`, {
        headers: { 'WWW-Authenticate': `Bearer realm="latchkey", error="insufficient_scope", scope="${scope}"` },
      }),
    );
    return;
  }
  attempt.passed = true;
  next();
}

/** X-RateLimit-Limit, -Remaining and -Reset, one call each: an object of headers would be built and walked. */
function setRateLimitHeaders(reply: FastifyReply, result: RateLimitResult): void {
  reply.header('x-ratelimit-limit', String(result.limit));
  reply.header('x-ratelimit-remaining', String(result.remaining));
  reply.header('x-ratelimit-reset', String(result.resetAt));
}

export default fp(apiAuth, { name: 'latchkey-api-auth' });
