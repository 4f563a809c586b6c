import type { FastifyPluginAsync } from 'fastify';
import type { PrincipalSigner } from './principal-signer.js';

/** GET /.well-known/jwks.json: the keys an upstream checks Latchkey-Principal with (public, no key needed). */
export const jwksRoutes: FastifyPluginAsync<{ signer: PrincipalSigner }> = async (app, { signer }) => {
  app.get('/.well-known/jwks.json', { schema: { hide: true } }, async (_request, reply) => {
    return reply.header('cache-control', 'public, max-age=300').send(signer.jwks());
  });
};
