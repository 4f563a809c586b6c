import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, startServer, type RunningServer } from './process.js';

const ROOT = new URL('..', import.meta.url).pathname;

function transcript(name = 'transcript'): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = new RegExp(`<!-- ${name}:start -->\\s*\`\`\`bash\\n([\\s\\S]*?)\`\`\`\\s*<!-- ${name}:end -->`).exec(readme);
  if (!block?.[1]) throw new Error(`README has no ${name} block`);
  return block[1];
}

describe('the README, as a newcomer runs it', () => {
  let server: RunningServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-readme-'));
    server = await startServer('npm', ['start', '--silent'], { DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' }, await freePort());
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('npm start serves on a fresh data folder, and the curl transcript works as written', () => {
    const script = transcript().replaceAll('http://localhost:3000', server.url);
    // Every step's answer is checked below, in order, so a refused step cannot pass unnoticed.
    const run = spawnSync('bash', ['-c', `set -euo pipefail\n${script}`], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    const out = run.stdout;
    assert.equal(run.status, 0, `transcript failed:\n${out}\n${run.stderr}\n${server.output()}`);
    const steps = [
      /"secret": "lk_live_[0-9A-Za-z]{36}"/, // created, secret shown once
      /"live":"filled","test":"filled"/, // demo data
      /HTTP\/1.1 200 OK/, // the seed's curl
      /x-ratelimit-limit: 60\r?\nx-ratelimit-remaining: 59\r?\nx-ratelimit-reset: \d+/i,
      /"object":"list","data":\[\{"id":"conv_/,
      /"created_by": "ada@example.com"/, // the list
      /"status": "expiring"/, // rotated
      /"calling_secret": \{\s+"id": "sec_\w+",\s+"version": 2/, // the new secret works
      /"status": "revoked"/, // old version revoked early
      /"api_key_revoked"/, // ...and refused at once
      /"revoked_at": "20/, // the key revoked
      /"api_key_revoked"/, // ...and its new secret refused too
    ];
    let rest = out;
    for (const step of steps) {
      const match = step.exec(rest);
      assert.ok(match, `transcript output lacks ${step} after what came before:\n${out}`);
      rest = rest.slice(match.index + match[0].length);
    }
  });
});

describe('the README\'s quick start for your own API, as written', () => {
  let server: RunningServer;
  let upstream: RunningServer;
  let gatewayUrl: string;
  let dir: string;
  let serviceKey: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-own-api-'));
    const env = { ...process.env, DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' };
    // The setup block runs where a newcomer runs it, the repository's root (npm run cli, the product file's path).
    const setup = spawnSync('bash', ['-c', `set -euo pipefail\n${transcript('own-api-setup')}\necho "SVC=$SVC"`], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(setup.status, 0, `setup failed:\n${setup.stdout}\n${setup.stderr}`);
    serviceKey = /^SVC=(acme_svc_[0-9A-Za-z]{36})$/m.exec(setup.stdout)?.[1] ?? '';
    assert.ok(serviceKey, `no acme_svc_ key printed:\n${setup.stdout}`);
    // The upstream as the README starts it (json-server, read-only), on a free port rather than 4000; the
    // product file is the README's, its upstream moved to that port.
    const upstreamPort = await freePort();
    upstream = await startServer(
      join(ROOT, 'node_modules/.bin/json-server'),
      ['--port', String(upstreamPort), '--host', '127.0.0.1', '--read-only', '--quiet', '--routes', 'docs/examples/crm.routes.json', 'docs/examples/crm.json'],
      {},
      upstreamPort,
      60_000,
      '/v1/status',
    );
    const productFile = join(dir, 'acme.product.yaml');
    writeFileSync(productFile, readFileSync(join(ROOT, 'docs/examples/acme.product.yaml'), 'utf8').replace('http://127.0.0.1:4000', upstream.url));
    const gatewayPort = await freePort();
    gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    server = await startServer(
      'npm',
      ['start', '--silent'],
      { DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn', PRODUCT_FILE: productFile, GATEWAY_PORT: String(gatewayPort) },
      await freePort(),
    );
  });

  after(async () => {
    await server?.stop();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a service key makes a workspace by external id and a key with meta, and verify answers for it', () => {
    const script = transcript('own-api').replaceAll('http://localhost:3000', server.url);
    const run = spawnSync('bash', ['-c', `set -euo pipefail\n${script}`], { cwd: dir, env: { ...process.env, SVC: serviceKey }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, `quick start failed:\n${run.stdout}\n${run.stderr}\n${server.output()}`);
    const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(lines.length, 2, run.stdout);
    assert.deepEqual({ ...lines[0], workspace: { ...(lines[0]!.workspace as object), id: 'ws' } }, { valid: true, code: 'valid', workspace: { id: 'ws', external_id: 'acme-42' }, meta: { plan: 'pro' } });
    assert.match((lines[0]!.workspace as { id: string }).id, /^ws_/);
    assert.deepEqual(lines[1], { valid: false, code: 'insufficient_scope', missing_scopes: ['deals:write'] });
  });

  it('the gateway walk: a key checked and proxied to json-server, refusals before it, a public route without a key', () => {
    const script = transcript('gateway').replaceAll('http://localhost:3000', server.url).replaceAll('http://localhost:8080', gatewayUrl);
    const run = spawnSync('bash', ['-c', `set -euo pipefail\n${script}`], { cwd: dir, env: { ...process.env, SVC: serviceKey }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, `gateway walk failed:\n${run.stdout}\n${run.stderr}\n${server.output()}`);
    const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown);
    assert.deepEqual(lines, [{ id: 1, name: 'Ada Lovelace', email: 'ada@example.com' }, 'insufficient_scope', 'missing_api_key', { ok: true }]);
  });
});
