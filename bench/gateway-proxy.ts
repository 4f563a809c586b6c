/**
 * The ceiling of bench/gateway.ts: a plain proxy on the library the gateway is built on (Fastify and
 * @fastify/reply-from with the gateway's own options: a logger at warn, bodies streamed unparsed, one
 * undici pool of kept-alive connections, no retries, the upstream's stream sent as is) and nothing of
 * Latchkey's: no key, no signed principal, no audit, no header rewriting.
 *
 *   PORT=4001 UPSTREAM_URL=http://127.0.0.1:4000 node --import tsx bench/gateway-proxy.ts
 */
import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';

const upstream = process.env.UPSTREAM_URL;
if (!upstream) throw new Error('set UPSTREAM_URL');

const app = Fastify({ logger: { level: 'warn' }, return503OnClosing: false, bodyLimit: 1024 * 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
await app.register(replyFrom, { disableRequestLogging: true, undici: { keepAliveTimeout: 30_000, connections: 256 } });

app.route({
  method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
  url: '/*',
  handler(request, reply) {
    return reply.from(`${upstream}${request.url}`, {
      timeout: 30_000,
      retryDelay: () => null,
      onResponse: (_request, answer, response) => {
        answer.send(response.stream);
      },
    });
  },
});

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
