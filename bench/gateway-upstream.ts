/**
 * The API behind the proxies of bench/gateway.ts: bare `node:http`, as little work per request as a server
 * can do, so that what is measured is what stands in front of it. Every path answers a small JSON body;
 * `GET /v1/download?bytes=N` streams N bytes; a request with a body is read to its end (nothing kept) and
 * answered with its size; `/v1/headers` answers the names of the headers it received.
 *
 *   PORT=4000 node --import tsx bench/gateway-upstream.ts
 */
import { createServer, type ServerResponse } from 'node:http';

const INVOICE = Buffer.from(JSON.stringify({ id: 'inv_1', customer: 'Wile E. Coyote', amount_cents: 129_900, currency: 'USD', status: 'open' }));
const CHUNK = Buffer.alloc(64 * 1024, 'x');

function json(response: ServerResponse, body: Buffer | string): void {
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

/** Writes `bytes` bytes in 64 KiB chunks, waiting for the socket to drain, so the upstream holds one chunk at a time. */
function stream(response: ServerResponse, bytes: number): void {
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
  let left = bytes;
  const write = () => {
    while (left > 0) {
      const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= chunk.length;
      if (!response.write(chunk)) {
        response.once('drain', write);
        return;
      }
    }
    response.end();
  };
  write();
}

const server = createServer((request, response) => {
  const url = request.url ?? '/';
  if (url.startsWith('/v1/download')) {
    stream(response, Number(new URL(url, 'http://upstream').searchParams.get('bytes') ?? 0));
    return;
  }
  if (url.startsWith('/v1/headers')) {
    json(response, JSON.stringify(Object.keys(request.headers)));
    return;
  }
  let bytes = 0;
  request.on('data', (chunk: Buffer) => (bytes += chunk.length));
  request.on('end', () => json(response, bytes > 0 ? JSON.stringify({ bytes }) : INVOICE));
});
// Longer than the proxies' pooled connections live idle (30 s), so the pool, not the upstream, closes them.
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
