import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Guard, VerifiedKey } from './guard.js';

/** Hono's variables the middleware sets: `c.get('latchkey')`. */
export interface LatchkeyEnv {
  Variables: { latchkey: VerifiedKey };
}

/** How to read the client's address from a Hono context; the default reads @hono/node-server's socket. */
export type ClientIp = (c: Context) => string | undefined;

/** The socket's peer under @hono/node-server (what its getConnInfo() reads); other runtimes pass `clientIp`. */
export const nodeServerClientIp: ClientIp = (c) => {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } }; server?: { incoming?: { socket?: { remoteAddress?: string } } } } | undefined;
  return (env?.server ?? env)?.incoming?.socket?.remoteAddress;
};

export function honoMiddleware(guard: Guard, clientIp: ClientIp = nodeServerClientIp): MiddlewareHandler<LatchkeyEnv> {
  return async function latchkey(c, next) {
    const decision = await guard({ authorization: c.req.header('authorization'), ip: clientIp(c), method: c.req.method, url: c.req.path });
    if (!decision.pass) return c.json(decision.body, decision.status as ContentfulStatusCode, decision.headers);
    for (const [name, value] of Object.entries(decision.headers)) c.header(name, value);
    c.set('latchkey', decision.latchkey);
    await next();
    return undefined;
  };
}
