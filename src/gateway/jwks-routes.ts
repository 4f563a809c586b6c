import type { FastifyPluginAsync } from 'fastify';
import type { PrincipalSigner } from './principal-signer.js';
import { JWKS_MAX_AGE_S } from './signing-keys.js';

/**
 * GET /.well-known/jwks.json: the keys an upstream checks Latchkey-Principal with (public, no key needed).
 * Upstreams may cache it for JWKS_MAX_AGE_S; rotation publishes a key long enough before it signs for that.
 */
export const jwksRoutes: FastifyPluginAsync<{ signer: PrincipalSigner }> = async (app, { signer }) => {
  app.get('/.well-known/jwks.json', { schema: { hide: true } }, async (_request, reply) => {
    return reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_S}`).send(signer.jwks());
  });
};
