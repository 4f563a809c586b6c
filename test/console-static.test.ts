import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Fastify from 'fastify';
import { consoleStatic } from '../src/console-static.js';
import { installErrorHandling } from '../src/http/error-handler.js';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

async function appServing(root: string) {
  const app = Fastify();
  installErrorHandling(app);
  app.get('/v1/setup', async () => ({ needs_setup: true }));
  await consoleStatic(app, { root });
  return app;
}

function builtConsole(): string {
  const root = mkdtempSync(join(tmpdir(), 'latchkey-console-static-'));
  dirs.push(root);
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>console</title><div id="root"></div>');
  writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
  return root;
}

describe('the console at /', () => {
  it('serves index.html at / and, for the app’s own paths, as the SPA fallback, with strict security headers', async () => {
    const app = await appServing(builtConsole());
    for (const url of ['/', '/keys', '/keys/key_123/usage', '/audit?key_id=key_1']) {
      const response = await app.inject({ url });
      assert.equal(response.statusCode, 200, url);
      assert.match(response.body, /<div id="root">/);
      assert.match(String(response.headers['content-security-policy']), /default-src 'self'.*frame-ancestors 'none'/);
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.equal(response.headers['referrer-policy'], 'no-referrer');
      assert.doesNotMatch(String(response.headers['content-security-policy']), /unsafe-inline/);
    }
    const asset = await app.inject({ url: '/assets/index-abc123.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(String(asset.headers['cache-control']), /immutable/);
  });

  it('leaves the API’s paths to the API: an unknown one is its JSON 404, not the app', async () => {
    const app = await appServing(builtConsole());
    assert.equal((await app.inject({ url: '/v1/setup' })).json().needs_setup, true);
    for (const url of ['/v1/nope', '/api/v1/nope', '/docs/nope', '/metrics/x', '/healthz/x']) {
      const response = await app.inject({ url });
      assert.equal(response.statusCode, 404, url);
      assert.equal(response.json().error.code, 'not_found', url);
    }
  });

  it('says to run the build when the console is not built, never an error', async () => {
    const app = await appServing(join(tmpdir(), 'latchkey-no-such-console'));
    for (const url of ['/', '/keys']) {
      const response = await app.inject({ url });
      assert.equal(response.statusCode, 200);
      assert.match(response.body, /npm run build/);
    }
  });
});
