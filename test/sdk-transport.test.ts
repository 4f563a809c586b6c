import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createTransport } from '../packages/sdk/src/transport.js';

/** The SDK's transport for the verify call (undici's pool): against a real server, every answer goes to its own call. */

describe('@latchkey/sdk transport', () => {
  it('talks to a real HTTP server: chunked answers, Connection: close, and a late answer never given to the next call', async () => {
    let calls = 0;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const n = ++calls;
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const answer = JSON.stringify({ n, echo: JSON.parse(body), auth: req.headers.authorization, path: req.url });
        if (n === 2) return setTimeout(() => res.end(answer), 300); // too late for a 100 ms deadline
        if (n === 4) res.setHeader('connection', 'close');
        res.write(answer.slice(0, 5)); // chunked: no Content-Length
        res.end(answer.slice(5));
      });
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const transport = createTransport(`http://127.0.0.1:${(server.address() as AddressInfo).port}/base/`);
    try {
      // Only call 2 runs against the tight deadline; the others get a loose one, so a loaded machine cannot fail them.
      const post = async (i: number, timeoutMs = 10_000) => {
        const answer = await transport.post('/v1/keys/verify', { Authorization: 'Bearer k' }, JSON.stringify({ i }), timeoutMs);
        return { status: answer.status, ...JSON.parse(answer.body) };
      };
      assert.deepEqual(await post(1), { status: 200, n: 1, echo: { i: 1 }, auth: 'Bearer k', path: '/base/v1/keys/verify' });
      await assert.rejects(post(2, 100), { name: 'LatchkeyUnavailableError' });
      assert.equal((await post(3)).n, 3, 'the late answer to call 2 is not taken for call 3');
      assert.equal((await post(4)).n, 4);
      assert.equal((await post(5)).n, 5, 'a new connection after the server closed one');
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => post(100 + i)));
      assert.deepEqual(many.map((a) => a.echo.i), Array.from({ length: 20 }, (_, i) => 100 + i), 'each answer goes to its own call');
    } finally {
      transport.close();
      server.closeAllConnections();
      server.close();
    }
  });
});
