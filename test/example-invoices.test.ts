import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createClient } from '../packages/sdk/src/index.js';
import { callJson, type Answer } from './fixtures/json-call.js';
import { freePort, startServer, type RunningServer } from './process.js';

/**
 * The whole walk of "Latchkey for your own API", as a SaaS team does it, against real processes: Latchkey
 * started with the invoices product file, service keys made with the operator CLI, customers provisioned
 * by the example's script (service key only), and the example invoices API (Express + @latchkey/sdk, as
 * built by `npm run build -w @latchkey/sdk`) called with the keys it printed.
 */

const run = promisify(execFile);
const PRODUCT_FILE = fileURLToPath(new URL('../examples/invoices/latchkey.product.yaml', import.meta.url));

/** A key's call to the example API. */
const call = (url: string, secret: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<Answer> =>
  callJson(url, { authorization: `Bearer ${secret}` }, method, body);

describe('example: the invoices API guarded by @latchkey/sdk, end to end against real processes', () => {
  let dataDir: string;
  let latchkey: RunningServer;
  let invoices: RunningServer;
  let provisioningKey: string;
  let env: Record<string, string>;

  async function provision(...args: string[]): Promise<string> {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/invoices/provision.ts', ...args], {
      env: { ...process.env, LATCHKEY_URL: latchkey.url, LATCHKEY_SERVICE_KEY: provisioningKey },
    });
    return stdout.trim();
  }

  before(async () => {
    assert.ok(existsSync('packages/sdk/dist/index.js'), 'build the SDK first: npm run build -w @latchkey/sdk (npm test does)');
    dataDir = await mkdtemp(join(tmpdir(), 'latchkey-invoices-'));
    env = { DATA_DIR: dataDir, PRODUCT_FILE, LOG_LEVEL: 'warn' };
    // Before the server: PGlite's files are one process's at a time.
    const cli = async (...args: string[]) =>
      (await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, ...env } })).stdout.trim();
    provisioningKey = await cli('create-service-key', '--name', 'invoices-provisioning', '--permissions', 'workspaces:read,workspaces:write,keys:read,keys:write');
    const verifyKey = await cli('create-service-key', '--name', 'invoices-api', '--permissions', 'keys:verify');
    assert.match(provisioningKey, /^inv_svc_/, "the service key carries the product file's brand");
    latchkey = await startServer(process.execPath, ['--import', 'tsx', 'src/main.ts'], env, await freePort());
    invoices = await startServer(
      process.execPath,
      ['--import', 'tsx', 'examples/invoices/src/server.ts'],
      { LATCHKEY_URL: latchkey.url, LATCHKEY_SERVICE_KEY: verifyKey },
      await freePort(),
    );
  });

  after(async () => {
    await invoices?.stop();
    await latchkey?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('provisions customers with the service key only, serves each its own invoices, refuses as Latchkey does, and fails closed', async () => {
    // Acme: a key with every scope, then (the workspace found again by its external id) one without payments.
    const acmeFull = await provision('--account', 'acme-42', '--name', 'Acme Corp', '--key-name', 'acme erp');
    const acmeNoPay = await provision('--account', 'acme-42', '--key-name', 'acme reader', '--scopes', 'invoices:read,invoices:write', '--plan', 'free');
    const globex = await provision('--account', 'globex-7', '--name', 'Globex', '--key-name', 'globex erp');
    for (const secret of [acmeFull, acmeNoPay, globex]) assert.match(secret, /^inv_live_\w+$/);

    const management = createClient({ baseUrl: latchkey.url, serviceKey: provisioningKey });
    const found = await management.GET('/v1/workspaces', { params: { query: { external_id: 'acme-42' } } });
    assert.equal(found.data?.data.length, 1, 'the second provisioning found the workspace instead of making another');
    const acmeWorkspace = found.data!.data[0]!.id;
    const acmeKeys = await management.GET('/v1/workspaces/{workspace_id}/api-keys', { params: { path: { workspace_id: acmeWorkspace } } });
    // The key routes document no response schema yet: their answers are read, not typed.
    const erpKey = (acmeKeys.data as unknown as { data: Array<{ id: string; name: string; meta: unknown }> }).data.find((k) => k.name === 'acme erp')!;
    assert.deepEqual(erpKey.meta, { plan: 'pro', account: 'acme-42' });

    // 200 with the tenant's own data.
    const created = await call(`${invoices.url}/v1/invoices`, acmeFull, 'POST', { customer: 'Wile E. Coyote', amount_cents: 129_900, currency: 'USD' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.headers.get('x-ratelimit-remaining') ?? '', /^\d+$/);
    const invoiceId = created.body.id as string;
    const listed = await call(`${invoices.url}/v1/invoices`, acmeNoPay);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.data.map((i: { id: string }) => i.id), [invoiceId], "another key of the same customer sees the customer's invoices");
    const theirs = await call(`${invoices.url}/v1/invoices`, globex);
    assert.deepEqual(theirs.body.data, [], 'another customer sees none of them');
    assert.equal((await call(`${invoices.url}/v1/invoices/${invoiceId}`, globex)).status, 404);

    // A key without payments:write: 403 insufficient_scope in Latchkey's error shape.
    const refused = await call(`${invoices.url}/v1/invoices/${invoiceId}/pay`, acmeNoPay, 'POST');
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'insufficient_scope');
    assert.equal(refused.body.error.type, 'permission_error');
    assert.equal(refused.headers.get('request-id'), refused.body.error.request_id);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="latchkey", error="insufficient_scope", scope="payments:write"');
    assert.equal((await call(`${invoices.url}/v1/invoices/${invoiceId}`, acmeNoPay)).body.status, 'open', 'and nothing was paid');

    const paid = await call(`${invoices.url}/v1/invoices/${invoiceId}/pay`, acmeFull, 'POST');
    assert.equal(paid.status, 200);
    assert.equal(paid.body.status, 'paid');

    // Revoked by the SaaS backend with its service key: refused on the next call.
    const revoke = await fetch(`${latchkey.url}/v1/workspaces/${acmeWorkspace}/api-keys/${erpKey.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${provisioningKey}` },
    });
    assert.equal(revoke.status, 200);
    const revoked = await call(`${invoices.url}/v1/invoices`, acmeFull);
    assert.equal(revoked.status, 401);
    assert.equal(revoked.body.error.code, 'api_key_revoked');
    assert.match(revoked.headers.get('www-authenticate') ?? '', /^Bearer realm="latchkey", error="invalid_token"/);

    // Latchkey stopped: the API refuses (503, Retry-After), it never lets a call through unchecked.
    await latchkey.stop();
    const down = await call(`${invoices.url}/v1/invoices`, acmeNoPay);
    assert.equal(down.status, 503);
    assert.equal(down.body.error.code, 'service_unavailable');
    assert.match(down.headers.get('retry-after') ?? '', /^\d+$/);
  });
});
