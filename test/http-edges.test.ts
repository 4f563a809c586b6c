import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateSecret } from '../src/keys/key-format.js';
import { describeEachBackend } from './harness.js';

const ROOT = new URL('..', import.meta.url).pathname;

/** Runs main.ts with `env` until it exits (a start that fails exits at once). */
function start(env: Record<string, string>) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', `${ROOT}src/main.ts`], {
    env: { ...process.env, DATA_DIR: mkdtempSync(join(tmpdir(), 'latchkey-start-')), LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, stderr: run.stderr, stdout: run.stdout };
}

describe('a start that fails says why in one line', () => {
  it('TRUST_PROXY=true: refused, naming TRUST_PROXY and the accepted forms, without a stack', () => {
    const run = start({ TRUST_PROXY: 'true', PORT: '0' });
    assert.equal(run.status, 1, run.stderr);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line, got:\n${run.stderr}`);
    assert.match(lines[0] ?? '', /^Latchkey could not start: Invalid configuration: TRUST_PROXY: "true" .* hop count .* CIDR ranges/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });

  it('a port already taken: one line, no stack', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as { port: number }).port;
    try {
      const run = start({ PORT: String(port), HOST: '127.0.0.1' });
      assert.equal(run.status, 1, run.stderr);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.match(run.stderr, /^Latchkey could not start: .*EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});

describeEachBackend('the /docs page', (harness) => {
  it('is sent with a CSP that allows only its own files, X-Frame-Options: DENY and nosniff, on the page and its files', async () => {
    const h = harness();
    for (const url of ['/docs', '/docs/', '/docs/static/swagger-ui-bundle.js', '/docs/static/swagger-ui.css', '/docs/static/swagger-initializer.js', '/docs/json']) {
      const reply = await h.app.inject({ url });
      assert.ok(reply.statusCode < 400, `${url}: ${reply.statusCode}`);
      const csp = String(reply.headers['content-security-policy']);
      assert.match(csp, /default-src 'none'/, url);
      assert.match(csp, /script-src 'self'(;|$)/, url);
      assert.match(csp, /frame-ancestors 'none'/, url);
      assert.equal(reply.headers['x-frame-options'], 'DENY', url);
      assert.equal(reply.headers['x-content-type-options'], 'nosniff', url);
    }
    // The page itself has no inline script the CSP would block.
    const page = await h.app.inject({ url: '/docs/' });
    assert.doesNotMatch(page.body, /<script>(?!\s*<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('leaves other routes alone', async () => {
    const h = harness();
    const reply = await h.app.inject({ url: '/healthz' });
    assert.equal(reply.headers['x-frame-options'], undefined);
  });
});

describeEachBackend('a 404 names the path without any key in it', (harness) => {
  it('masks a key pasted into an unknown management, docs or API path, as the logs do', async () => {
    const secret = generateSecret(harness().config.keyPrefix, 'live');
    const random = secret.slice(secret.indexOf('_live_') + 6, -6);
    const urls = [`/v1/nothing/${secret}`, `/docs/x/${secret}x`, `/metrics/key_${secret}`, `/api/v1/nothing/${secret}`];
    // GET reaches the console's fallback, other methods the app's not-found handler: both name the path.
    for (const [method, url] of urls.flatMap((u) => [['GET', u], ['DELETE', u]] as const)) {
      const response = await harness().app.inject({ method, url });
      assert.equal(response.statusCode, 404, url);
      assert.equal(response.json().error.code, 'not_found', url);
      assert.ok(!response.body.includes(random), `${url}: ${response.body}`);
      assert.match(response.json().error.message, /\[REDACTED\]/, url);
    }
  });
});
