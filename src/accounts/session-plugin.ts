import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../http/errors.js';
import type { AccountsService } from './accounts-service.js';
import { csrfTokenMatches } from './session-token.js';

export const SESSION_COOKIE = 'latchkey_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface SessionOptions {
  accounts: Pick<AccountsService, 'resolveSession'>;
  cookieSecure: 'true' | 'false' | 'auto';
}

/**
 * Signs in every management request from its cookie before anything else runs, so a client that is not
 * signed in learns nothing about the route (not even whether its body was valid).
 * Routes marked `config.public` (setup, login) run without a session; all others need one, and
 * every request that changes something must carry the session's CSRF token in X-CSRF-Token.
 */
async function sessionPlugin(app: FastifyInstance, options: SessionOptions): Promise<void> {
  await app.register(cookie);
  app.decorateRequest('session', null);

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const token = request.cookies[SESSION_COOKIE];
    const session = token ? await options.accounts.resolveSession(token) : null;
    request.session = session && token ? { ...session, token } : null;
    if (request.routeOptions.config.public) return;
    if (!request.session || !token) throw new AppError('not_authenticated', 'Sign in first: this needs a session.');
    if (!SAFE_METHODS.has(request.method) && !csrfTokenMatches(token, headerValue(request.headers['x-csrf-token']))) {
      throw new AppError('csrf_token_invalid', 'Send the X-CSRF-Token header with the csrf_token that login or /v1/auth/me returned.');
    }
  });
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
