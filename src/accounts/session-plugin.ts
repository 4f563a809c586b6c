import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { bearerToken } from '../auth/bearer.js';
import { AppError } from '../http/errors.js';
import type { Capability } from '../embed/capabilities.js';
import type { EmbedCaller, EmbedSessions } from '../embed/embed-sessions.js';
import type { Permission } from '../service-keys/permissions.js';
import type { ServiceKeyCaller, ServiceKeys } from '../service-keys/service-keys.js';
import type { AccountsService } from './accounts-service.js';
import { csrfTokenMatches } from './session-token.js';

export const SESSION_COOKIE = 'latchkey_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** The SaaS's own user on whose behalf a service key acts; recorded beside it in the management log. */
const ON_BEHALF_OF = 'latchkey-on-behalf-of';
const MAX_ON_BEHALF_OF = 200;

declare module 'fastify' {
  interface FastifyRequest {
    /** The service key a management request came with (Authorization: Bearer {brand}_svc_…), else null. */
    serviceKey: ServiceKeyCaller | null;
    /** Latchkey-On-Behalf-Of, as a service key sent it. */
    onBehalfOf: string | undefined;
    /** The embedded key-management session a request came with (Authorization: Bearer {brand}_ems_…), else null. */
    embed: EmbedCaller | null;
  }
  interface FastifyContextConfig {
    /**
     * What a service key needs to call this management route: a permission, or `null` for any service key.
     * Left out, the route is for people signed in only (their role is checked by the route's workspace).
     */
    permission?: Permission | null;
    /** Only a service key may call the route (verify); a session is refused. */
    serviceKeyOnly?: boolean;
    /**
     * What an embedded session needs to call this route: a capability, or `null` for any embedded session.
     * Left out, embedded sessions are refused (members, workspaces, service-key routes).
     */
    capability?: Capability | null;
  }
}

export interface SessionOptions {
  accounts: Pick<AccountsService, 'resolveSession'>;
  serviceKeys: Pick<ServiceKeys, 'resolve'>;
  embedSessions: Pick<EmbedSessions, 'looksLikeSession' | 'resolve'>;
  cookieSecure: 'true' | 'false' | 'auto';
}

/**
 * Authenticates every management request before anything else runs, so a caller who is not signed in
 * learns nothing about the route (not even whether its body was valid). One mechanism, two ways in:
 * - a person: the session cookie; every request that changes something carries the session's CSRF token
 *   in X-CSRF-Token;
 * - a SaaS backend: `Authorization: Bearer {brand}_svc_…`, no cookie and no CSRF (a browser never sends
 *   it by itself); the route's `config.permission` says what the key needs;
 * - the SaaS's user in an embedded page: `Authorization: Bearer {brand}_ems_…`, the token the page got for
 *   its single-use link; the route's `config.capability` says what the session needs, and the session's
 *   workspace is the only one it reaches (workspace-scope.ts).
 * Routes marked `config.public` (setup, login, the embedded link's exchange) run without any of them; a
 * service key is refused there too, as on every route that declares no permission: those are a person's.
 */
async function sessionPlugin(app: FastifyInstance, options: SessionOptions): Promise<void> {
  await app.register(cookie);
  app.decorateRequest('session', null);
  app.decorateRequest('serviceKey', null);
  app.decorateRequest('onBehalfOf', undefined);
  app.decorateRequest('embed', null);

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const config = request.routeOptions.config;
    if (request.headers.authorization !== undefined) {
      const token = bearerToken(request.headers.authorization);
      if (token !== null && options.embedSessions.looksLikeSession(token)) return embedCall(request, token, config, options.embedSessions);
      return serviceKeyCall(request, token, config, options.serviceKeys);
    }
    if (config.serviceKeyOnly) throw new AppError('not_authenticated', 'Send a service key as Authorization: Bearer <service key>.');
    const token = request.cookies[SESSION_COOKIE];
    const session = token ? await options.accounts.resolveSession(token) : null;
    request.session = session && token ? { ...session, token } : null;
    if (config.public) return;
    if (!request.session || !token) throw new AppError('not_authenticated', 'Sign in first: this needs a session.');
    if (!SAFE_METHODS.has(request.method) && !csrfTokenMatches(token, headerValue(request.headers['x-csrf-token']))) {
      throw new AppError('csrf_token_invalid', 'Send the X-CSRF-Token header with the csrf_token that login or /v1/auth/me returned.');
    }
  });
}

async function embedCall(request: FastifyRequest, token: string, config: FastifyRequest['routeOptions']['config'], embedSessions: SessionOptions['embedSessions']): Promise<void> {
  const embed = await embedSessions.resolve(token);
  if (!embed) {
    throw new AppError('embed_session_invalid', 'This key management session has ended. Open key management again from the product you came from.', {
      headers: { 'WWW-Authenticate': 'Bearer realm="latchkey-embed", error="invalid_token"' },
    });
  }
  request.embed = embed;
  const capability = config.capability;
  if (capability === undefined || config.serviceKeyOnly) {
    throw new AppError('insufficient_permission', `${request.method} ${request.routeOptions.url ?? request.url} is not part of embedded key management.`);
  }
  if (capability !== null && !embed.capabilities.has(capability)) {
    throw new AppError('insufficient_permission', `This session was not given the ${capability} capability, which ${request.method} ${request.routeOptions.url} needs.`, {
      param: capability,
    });
  }
}

async function serviceKeyCall(request: FastifyRequest, token: string | null, config: FastifyRequest['routeOptions']['config'], serviceKeys: SessionOptions['serviceKeys']): Promise<void> {
  const serviceKey = token === null ? null : await serviceKeys.resolve(token);
  if (!serviceKey) {
    throw new AppError('invalid_service_key', 'The service key is not valid: send Authorization: Bearer <service key> with a key from `latchkey create-service-key`, copied whole.', {
      headers: { 'WWW-Authenticate': 'Bearer realm="latchkey-management", error="invalid_token"' },
    });
  }
  request.serviceKey = serviceKey;
  const permission = config.permission;
  if (permission === undefined) {
    throw new AppError('insufficient_permission', `${request.method} ${request.routeOptions.url ?? request.url} is for people signed in to the console; a service key cannot call it.`);
  }
  if (permission !== null && !serviceKey.permissions.has(permission)) {
    throw new AppError('insufficient_permission', `This service key does not have the ${permission} permission, which ${request.method} ${request.routeOptions.url} needs.`, {
      param: permission,
    });
  }
  const onBehalfOf = headerValue(request.headers[ON_BEHALF_OF]);
  if (onBehalfOf !== undefined) {
    if (onBehalfOf.length > MAX_ON_BEHALF_OF || /[\u0000-\u001f\u007f]/.test(onBehalfOf)) {
      throw new AppError('invalid_request', `Latchkey-On-Behalf-Of must be at most ${MAX_ON_BEHALF_OF} characters of text.`, { param: 'Latchkey-On-Behalf-Of' });
    }
    request.onBehalfOf = onBehalfOf;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string, expiresAt: Date, secure: SessionOptions['cookieSecure']): void {
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    expires: expiresAt,
    secure: secure === 'auto' ? request.protocol === 'https' : secure === 'true',
  });
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
}

export default fp(sessionPlugin, { name: 'latchkey-session' });
