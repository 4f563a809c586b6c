import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from '../src/config.js';
import { writeProductFile } from './fixtures/gateway/product.js';
import { BLOCK, downloadSha256, startHandUpstream, type HandUpstream } from './fixtures/gateway/upstreams.js';
import { freePort, startServer, type RunningServer } from './process.js';

/**
 * What a client or an upstream can do wrong to the gateway, against a real Latchkey process (so "the
 * process survives" is a real process, and its memory is its own): paths that could mean another path,
 * oversized URLs, headers and bodies, an upstream that breaks mid-answer, a client that goes away.
 */

const ROOT = new URL('..', import.meta.url).pathname;
const run = promisify(execFile);
const MB = 1_000_000;
/** 101 MiB: a 100 MB upload passes, 110 MB does not. */
const MAX_BODY_MB = 101;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
}

function send(base: string, method: string, path: string, options: { secret?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.secret) headers.authorization = `Bearer ${options.secret}`;
    // host, port and path given apart: a URL string would be normalised (`/a/../b` sent as `/b`).
    const { hostname, port } = new URL(base);
    const request = httpRequest({ hostname, port, path, method, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve(answerOf(response.statusCode ?? 0, response.headers, Buffer.concat(chunks).toString())));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

function answerOf(status: number, headers: IncomingHttpHeaders, text: string): Answer {
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status, headers, text, body };
}

/**
 * Bytes written straight to a socket, what no HTTP client library would send, 64 KiB at a time until the
 * server answers (a server that refuses early closes the socket, and more bytes would only reset it).
 * Resolves with the raw answer.
 */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(received) : reject(error)));
    socket.on('close', () => resolve(received));
    let offset = 0;
    const writeMore = () => {
      if (received !== '' || socket.destroyed) return;
      const piece = bytes.slice(offset, offset + 64 * 1024);
      offset += piece.length;
      if (piece !== '') socket.write(piece, () => setImmediate(writeMore));
    };
    writeMore();
  });
}

/** The peak resident memory of a process while `work` runs, sampled from /proc, in bytes above its start. */
async function rssGrowth(pid: number, work: () => Promise<void>): Promise<number> {
  const rss = async () => Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
  const baseline = await rss();
  let peak = baseline;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, await rss());
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  try {
    await work();
  } finally {
    running = false;
    await sampler;
  }
  return peak - baseline;
}

describe('gateway: bad input against a real process', () => {
  let upstream: HandUpstream;
  let latchkey: RunningServer;
  let gateway = '';
  let gatewayPort = 0;
  let dataDir = '';
  let secret = '';

  before(async () => {
    upstream = await startHandUpstream('hand');
    dataDir = await mkdtemp(join(tmpdir(), 'latchkey-gateway-bad-'));
    gatewayPort = await freePort();
    const product = writeProductFile({
      max_body_mb: MAX_BODY_MB,
      upstreams: { hand: { url: upstream.url, timeout_ms: 10_000 } },
      routes: [{ method: '*', path: '/hand/{action}', upstream: 'hand', scope: 'contacts:read' }],
    });
    latchkey = await startServer(
      process.execPath,
      ['--import', 'tsx', `${ROOT}src/main.ts`],
      { DATA_DIR: dataDir, PRODUCT_FILE: product, GATEWAY_PORT: String(gatewayPort), LOG_LEVEL: 'warn' },
      await freePort(),
    );
    gateway = `http://127.0.0.1:${gatewayPort}`;
    const setup = await fetch(`${latchkey.url}/v1/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ops@example.com', password: 'correct horse battery', workspace_name: 'Acme' }),
    });
    assert.equal(setup.status, 201);
    const cookie = setup.headers.get('set-cookie')!.split(';')[0]!;
    const { csrf_token: csrf, workspace } = (await setup.json()) as { csrf_token: string; workspace: { id: string } };
    const key = await fetch(`${latchkey.url}/v1/workspaces/${workspace.id}/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf },
      body: JSON.stringify({ name: 'robust', scopes: ['contacts:read'] }),
    });
    assert.equal(key.status, 201);
    secret = ((await key.json()) as { secret: string }).secret;
  });

  after(async () => {
    await latchkey?.stop();
    await upstream?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** The gateway still answers a plain call: the process and its listener survived. */
  async function stillServing(): Promise<void> {
    const answer = await send(gateway, 'GET', '/hand/echo', { secret });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(latchkey.child.exitCode, null);
  }

  it('refuses paths an upstream could read as another path, 400 before the upstream sees anything', async () => {
    const seen = upstream.seen.length;
    const paths = [
      '/hand/..',
      '/hand/../admin',
      '/hand/%2e%2e',
      '/hand/%2E%2e/admin',
      '/hand/..%2Fadmin',
      '/hand/a%2fb',
      '/hand/%252e%252e',
      '/hand/%25252e%25252e',
      '/hand/a%252Fb',
      '/hand/a%5cb',
      '/hand/.',
    ];
    for (const path of paths) {
      const answer = await send(gateway, 'GET', path, { secret });
      assert.equal(answer.status, 400, `${path}: ${answer.text}`);
      assert.equal(answer.body.error.code, 'invalid_request', path);
      assert.equal(answer.body.error.param, 'path', path);
      assert.equal(answer.body.error.request_id, answer.headers['request-id'], path);
    }
    // Without a key too: the path is judged before anything else.
    assert.equal((await send(gateway, 'GET', '/hand/%2e%2e')).status, 400);
    assert.equal(upstream.seen.length, seen, 'the upstream saw none of them');
    // Dots that are not a segment of their own, and escapes that decode to ordinary text, pass.
    assert.equal((await send(gateway, 'GET', '/hand/v1.2..3', { secret })).body.url, '/hand/v1.2..3');
    assert.equal((await send(gateway, 'GET', '/hand/caf%C3%A9', { secret })).body.url, '/hand/caf%C3%A9');
    const malformed = await send(gateway, 'GET', '/hand/%E0%A4%A', { secret });
    assert.equal(malformed.status, 400);
  });

  it('refuses a 64 KB query with 431 in the error shape (over the 16 KiB of a request head), and goes on', async () => {
    const seen = upstream.seen.length;
    const answer = await send(gateway, 'GET', `/hand/echo?q=${'a'.repeat(64 * 1024)}`, { secret });
    assert.equal(answer.status, 431, answer.text);
    assert.equal(answer.body.error.code, 'request_header_too_large');
    assert.equal(answer.body.error.type, 'invalid_request_error');
    assert.equal(upstream.seen.length, seen);
    // A long query that fits passes whole.
    const fits = await send(gateway, 'GET', `/hand/echo?q=${'b'.repeat(8 * 1024)}`, { secret });
    assert.equal(fits.status, 200);
    assert.equal(fits.body.url.length, '/hand/echo?q='.length + 8 * 1024);
    await stillServing();
  });

  it('answers a 10 MB header with 431 and survives', async () => {
    const raw = await rawExchange(gatewayPort, `GET /hand/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\nX-Huge: ${'h'.repeat(10 * MB)}\r\n\r\n`);
    assert.match(raw, /^HTTP\/1\.1 431 /);
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
    assert.equal(body.error.code, 'request_header_too_large');
    assert.ok(!raw.includes(secret), 'the refusal does not echo the key');
    await stillServing();
  });

  it('answers 502 upstream_unavailable when the upstream closes mid-body or answers garbage, and survives', async () => {
    const garbage = await send(gateway, 'GET', '/hand/garbage', { secret });
    assert.equal(garbage.status, 502, garbage.text);
    assert.equal(garbage.body.error.code, 'upstream_unavailable');
    // Mid-body the status line has gone: the client sees its connection end early, never a truncated success.
    const cut = await new Promise<{ status: number; bytes: number; failed: boolean }>((resolve) => {
      const request = httpRequest(`${gateway}/hand/cut`, { headers: { authorization: `Bearer ${secret}` }, agent: false }, (response) => {
        let bytes = 0;
        response.on('data', (chunk: Buffer) => (bytes += chunk.length));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, bytes, failed: !response.complete }));
        response.on('error', () => resolve({ status: response.statusCode ?? 0, bytes, failed: true }));
        response.on('aborted', () => resolve({ status: response.statusCode ?? 0, bytes, failed: true }));
      });
      request.on('error', () => resolve({ status: 0, bytes: 0, failed: true }));
      request.end();
    });
    assert.ok(cut.failed, 'the client is told the answer is incomplete');
    assert.ok(cut.bytes < 1_000_000);
    await stillServing();
  });

  it('aborts the upstream request when the client goes away mid-upload, and survives', async () => {
    const arrived = upstream.next();
    const receiving = upstream.receiving('/hand/upload');
    const request = httpRequest(`${gateway}/hand/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/octet-stream' },
      agent: false,
    });
    request.on('error', () => {});
    request.write(Buffer.alloc(1024 * 1024, 7));
    // Once the upstream has some of it, the client vanishes.
    await receiving;
    request.destroy();
    const seen = await arrived;
    assert.equal(seen.url, '/hand/upload');
    assert.equal(seen.aborted, true, 'the upstream saw its request end early');
    assert.ok(seen.bytes < 1024 * 1024 + 1);
    await stillServing();
  });

  it('answers 413 to a declared Content-Length over the limit without contacting the upstream', async () => {
    const seen = upstream.seen.length;
    const raw = await rawExchange(
      gatewayPort,
      `POST /hand/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${200 * MB}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(raw, /^HTTP\/1\.1 413 /);
    assert.equal(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).error.code, 'payload_too_large');
    assert.equal(upstream.seen.length, seen, 'the upstream was never contacted');
    await stillServing();
  });

  it('stops a chunked body at the limit: 413 or a cut connection, and the upstream sees an aborted request', async (t) => {
    const arrived = upstream.next();
    const outcome = await new Promise<{ status: number; code: string | null }>((resolve) => {
      const request = httpRequest(`${gateway}/hand/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/octet-stream' },
        agent: false,
      });
      request.on('response', (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, code: answerOf(0, {}, text).body?.error?.code ?? null }));
        response.on('error', () => resolve({ status: response.statusCode ?? 0, code: null }));
      });
      request.on('error', () => resolve({ status: 0, code: null }));
      const block = Buffer.from(BLOCK);
      let left = 110 * MB;
      const pump = () => {
        while (left > 0 && !request.destroyed) {
          left -= block.length;
          if (!request.write(block)) return void request.once('drain', pump);
        }
        request.end();
      };
      pump();
    });
    t.diagnostic(`the client saw ${outcome.status === 0 ? 'its connection cut' : `${outcome.status} ${outcome.code}`}`);
    if (outcome.status !== 0) assert.deepEqual(outcome, { status: 413, code: 'payload_too_large' });
    const seen = await arrived;
    assert.equal(seen.aborted, true);
    assert.ok(seen.bytes <= MAX_BODY_MB * 1024 * 1024);
    await stillServing();
  });

  it('streams a 100 MB upload and a 100 MB download whole, the process growing by far less than 100 MB', async (t) => {
    const size = 100 * MB;
    const pid = latchkey.child.pid!;
    let uploaded: Answer | undefined;
    const uploadGrowth = await rssGrowth(pid, async () => {
      uploaded = await new Promise<Answer>((resolve, reject) => {
        const request = httpRequest(`${gateway}/hand/upload`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/octet-stream', 'content-length': String(size) },
          agent: false,
        });
        request.on('response', (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve(answerOf(response.statusCode ?? 0, response.headers, text)));
        });
        request.on('error', reject);
        const block = Buffer.from(BLOCK);
        let left = size;
        const pump = () => {
          while (left > 0) {
            const chunk = left >= block.length ? block : block.subarray(0, left);
            left -= chunk.length;
            if (!request.write(chunk)) return void request.once('drain', pump);
          }
          request.end();
        };
        pump();
      });
    });
    assert.equal(uploaded!.status, 200, uploaded!.text);
    assert.equal(uploaded!.body.bytes, size);
    assert.equal(uploaded!.body.sha256, downloadSha256(size), 'the upstream got every byte in order');

    let downloaded = { status: 0, bytes: 0, sha256: '' };
    const downloadGrowth = await rssGrowth(pid, async () => {
      downloaded = await new Promise((resolve, reject) => {
        httpRequest(`${gateway}/hand/download-${size}`, { headers: { authorization: `Bearer ${secret}` }, agent: false }, (response) => {
          const hash = createHash('sha256');
          let bytes = 0;
          response.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            hash.update(chunk);
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, bytes, sha256: hash.digest('hex') }));
          response.on('error', reject);
        })
          .on('error', reject)
          .end();
      });
    });
    assert.deepEqual(downloaded, { status: 200, bytes: size, sha256: downloadSha256(size) });
    t.diagnostic(`RSS growth: upload ${(uploadGrowth / MB).toFixed(1)} MB, download ${(downloadGrowth / MB).toFixed(1)} MB`);
    // Memory, not time: a loose bound that a body held whole (100 MB) could not meet.
    assert.ok(uploadGrowth < 60 * MB, `upload grew RSS by ${Math.round(uploadGrowth / MB)} MB`);
    assert.ok(downloadGrowth < 60 * MB, `download grew RSS by ${Math.round(downloadGrowth / MB)} MB`);
  });
});

describe('gateway: a product file naming what does not exist', () => {
  const broken = [
    [{ method: 'GET', path: '/x', upstream: 'nowhere', scope: 'contacts:read' }, /gateway\.routes\.0\.upstream: no upstream is named nowhere/],
    [{ method: 'GET', path: '/x', upstream: 'hand', scope: 'contacts:destroy' }, /gateway\.routes\.0\.scope: contacts:destroy is not in scopes/],
  ] as const;

  it('is refused by loadConfig, naming the field', () => {
    for (const [route, message] of broken) {
      const file = writeProductFile({ upstreams: { hand: { url: 'http://127.0.0.1:1' } }, routes: [route] });
      assert.throws(() => loadConfig({ DATA_DIR: 'memory://', PRODUCT_FILE: file }), (error: Error) => error instanceof ConfigError && message.test(error.message));
    }
  });

  it('stops a real start with a message naming it', async () => {
    for (const [route, message] of broken) {
      const file = writeProductFile({ upstreams: { hand: { url: 'http://127.0.0.1:1' } }, routes: [route] });
      const failed = await run(process.execPath, ['--import', 'tsx', `${ROOT}src/main.ts`], {
        env: { ...process.env, DATA_DIR: 'memory://', PRODUCT_FILE: file, PORT: String(await freePort()), GATEWAY_PORT: String(await freePort()) },
      }).then(
        () => assert.fail('started'),
        (error: { code: number; stderr: string }) => error,
      );
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, message);
    }
  });
});
