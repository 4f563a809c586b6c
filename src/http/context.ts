import type { FastifyRequest } from 'fastify';
import type { ActionContext, ActorContext } from '../audit/management-log.js';
import { AppError } from './errors.js';

export interface SessionUser {
  sessionId: string;
  /** The raw cookie token, kept on the request only, to derive the CSRF token for `me`. */
  token: string;
  user: { id: string; email: string };
}

declare module 'fastify' {
  interface FastifyRequest {
    session: SessionUser | null;
  }
  interface FastifyContextConfig {
    /** A management route that answers without a session (setup, login). */
    public?: boolean;
  }
}

export function requireSession(request: FastifyRequest): SessionUser {
  if (!request.session) throw new AppError('not_authenticated', 'Sign in first.');
  return request.session;
}

/** Who is acting and from where, for the management log. `request.ip` already honours TRUST_PROXY. */
export function actionContext(request: FastifyRequest): ActionContext {
  const embed = request.embed;
  return {
    actor: request.session?.user ?? null,
    ...(request.serviceKey ? { serviceKey: { id: request.serviceKey.id, name: request.serviceKey.name }, onBehalfOf: request.onBehalfOf } : {}),
    // An embedded session acts for the SaaS's user, through the service key that minted it.
    ...(embed ? { serviceKey: embed.serviceKey, externalUser: { externalId: embed.user.externalId, email: embed.user.email }, embedSessionId: embed.id } : {}),
    sourceIp: request.ip,
    userAgent: request.headers['user-agent'],
    requestId: request.id,
  };
}

/** The context of a route both people and service keys call: one of them is the actor. */
export function callerContext(request: FastifyRequest): ActorContext {
  const serviceKey = request.serviceKey ?? request.embed?.serviceKey;
  if (serviceKey) return { ...actionContext(request), actor: null, serviceKey: { id: serviceKey.id, name: serviceKey.name } };
  return signedInContext(request);
}

export function signedInContext(request: FastifyRequest): ActionContext & { actor: { id: string; email: string } } {
  const session = requireSession(request);
  return { ...actionContext(request), actor: session.user };
}
