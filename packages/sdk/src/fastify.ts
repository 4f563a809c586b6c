import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Guard, VerifiedKey } from './guard.js';

export type FastifyLatchkeyHook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/**
 * A Fastify 5 `onRequest` hook (before the body is read, as Latchkey's own API checks keys): use it as a
 * route's `onRequest` option or with `app.addHook('onRequest', …)`. `request.ip` is the client (Fastify's
 * `trustProxy` applies).
 */
export function fastifyHook(guard: Guard): FastifyLatchkeyHook {
  return async function latchkey(request, reply) {
    const decision = await guard({ authorization: request.headers.authorization, ip: request.ip, method: request.method, url: request.url });
    reply.headers(decision.headers);
    if (!decision.pass) return reply.code(decision.status).send(decision.body);
    request.latchkey = decision.latchkey;
    return undefined;
  };
}
