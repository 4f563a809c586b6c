import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { callJson } from './fixtures/json-call.js';
import { freePort, startServer, type RunningServer } from './process.js';

/**
 * The walk of test/example-invoices.test.ts with Latchkey's gateway in front of the invoices API instead of
 * the SDK's middleware inside it: Latchkey started with the example's gateway product file (on GATEWAY_PORT),
 * customers provisioned by the example's script, and the example (LATCHKEY_GATEWAY_JWKS_URL set) checking
 * only the Latchkey-Principal the gateway signed. Clients call the gateway; the example never sees a key.
 */

const run = promisify(execFile);
const GATEWAY_PRODUCT_FILE = fileURLToPath(new URL('../examples/invoices/latchkey.gateway.product.yaml', import.meta.url));
const KEY_HERE = 'an Authorization header reached the invoices API';

describe('example: the invoices API behind the Latchkey gateway, end to end against real processes', () => {
  let dataDir: string;
  let latchkey: RunningServer;
  let invoices: RunningServer;
  let gateway: string;
  let provisioningKey: string;

  async function provision(...args: string[]): Promise<string> {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/invoices/provision.ts', ...args], {
      env: { ...process.env, LATCHKEY_URL: latchkey.url, LATCHKEY_SERVICE_KEY: provisioningKey },
    });
    return stdout.trim();
  }

  /** A client's call: to the gateway, with its key. */
  const viaGateway = (path: string, secret: string, method: 'GET' | 'POST' = 'GET', body?: unknown) =>
    callJson(`${gateway}${path}`, { authorization: `Bearer ${secret}` }, method, body);

  before(async () => {
    assert.ok(existsSync('packages/sdk/dist/index.js'), 'build the SDK first: npm run build -w @latchkey/sdk (npm test does)');
    dataDir = await mkdtemp(join(tmpdir(), 'latchkey-invoices-gateway-'));
    // The example's product file as it is, with the upstream's address this run got.
    const invoicesPort = await freePort();
    const product = parseYaml(await readFile(GATEWAY_PRODUCT_FILE, 'utf8')) as { gateway: { upstreams: { invoices: { url: string } } } };
    product.gateway.upstreams.invoices.url = `http://127.0.0.1:${invoicesPort}`;
    const productFile = join(dataDir, 'latchkey.gateway.product.json');
    await writeFile(productFile, JSON.stringify(product));

    const gatewayPort = await freePort();
    const env = { DATA_DIR: join(dataDir, 'data'), PRODUCT_FILE: productFile, GATEWAY_PORT: String(gatewayPort), LOG_LEVEL: 'warn' };
    // Before the server: PGlite's files are one process's at a time.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'create-service-key', '--name', 'invoices-provisioning', '--permissions', 'workspaces:read,workspaces:write,keys:read,keys:write'], {
      env: { ...process.env, ...env },
    });
    provisioningKey = stdout.trim();
    latchkey = await startServer(process.execPath, ['--import', 'tsx', 'src/main.ts'], env, await freePort());
    gateway = `http://127.0.0.1:${gatewayPort}`;
    invoices = await startServer(process.execPath, ['--import', 'tsx', 'examples/invoices/src/server.ts'], { LATCHKEY_GATEWAY_JWKS_URL: `${latchkey.url}/.well-known/jwks.json` }, invoicesPort);
  });

  after(async () => {
    await invoices?.stop();
    await latchkey?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('provisions customers, serves each its own invoices through the gateway, refuses as Latchkey does, and never lets a key reach the API', async () => {
    const acmeFull = await provision('--account', 'acme-42', '--name', 'Acme Corp', '--key-name', 'acme erp');
    const acmeNoPay = await provision('--account', 'acme-42', '--key-name', 'acme reader', '--scopes', 'invoices:read,invoices:write', '--plan', 'free');
    const globex = await provision('--account', 'globex-7', '--name', 'Globex', '--key-name', 'globex erp');
    for (const secret of [acmeFull, acmeNoPay, globex]) assert.match(secret, /^inv_live_\w+$/);

    // 200 with the tenant's own data: the example found the customer in the signed principal.
    const created = await viaGateway('/v1/invoices', acmeFull, 'POST', { customer: 'Wile E. Coyote', amount_cents: 129_900, currency: 'USD' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.headers.get('x-ratelimit-remaining') ?? '', /^\d+$/);
    assert.match(created.headers.get('request-id') ?? '', /^req_/);
    const invoiceId = created.body.id as string;
    const listed = await viaGateway('/v1/invoices', acmeNoPay);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.data.map((i: { id: string }) => i.id), [invoiceId], "another key of the same customer sees the customer's invoices");
    assert.deepEqual((await viaGateway('/v1/invoices', globex)).body.data, [], 'another customer sees none of them');
    // The API's own 404 passes through the gateway unchanged.
    const notTheirs = await viaGateway(`/v1/invoices/${invoiceId}`, globex);
    assert.equal(notTheirs.status, 404);
    assert.equal(notTheirs.body.error.code, 'not_found');

    // A key without payments:write: refused by the gateway, 403 insufficient_scope in Latchkey's shape.
    const refused = await viaGateway(`/v1/invoices/${invoiceId}/pay`, acmeNoPay, 'POST');
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'insufficient_scope');
    assert.equal(refused.body.error.type, 'permission_error');
    assert.equal(refused.headers.get('request-id'), refused.body.error.request_id);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="latchkey", error="insufficient_scope", scope="payments:write"');
    assert.equal((await viaGateway(`/v1/invoices/${invoiceId}`, acmeNoPay)).body.status, 'open', 'and nothing was paid');

    const paid = await viaGateway(`/v1/invoices/${invoiceId}/pay`, acmeFull, 'POST');
    assert.equal(paid.status, 200);
    assert.equal(paid.body.status, 'paid');

    // No key, or a made-up one: the gateway answers, the API is not reached.
    const anonymous = await callJson(`${gateway}/v1/invoices`, {});
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.type, 'authentication_error');

    // Revoked by the SaaS backend with its service key: refused by the gateway on the next call.
    const management = { authorization: `Bearer ${provisioningKey}` };
    const acme = (await callJson(`${latchkey.url}/v1/workspaces?external_id=acme-42`, management)).body.data[0].id as string;
    const keys = (await callJson(`${latchkey.url}/v1/workspaces/${acme}/api-keys`, management)).body.data as Array<{ id: string; name: string }>;
    const erpKey = keys.find((k) => k.name === 'acme erp')!;
    const revoke = await fetch(`${latchkey.url}/v1/workspaces/${acme}/api-keys/${erpKey.id}`, { method: 'DELETE', headers: management });
    assert.equal(revoke.status, 200);
    const revoked = await viaGateway('/v1/invoices', acmeFull);
    assert.equal(revoked.status, 401);
    assert.equal(revoked.body.error.code, 'api_key_revoked');
    assert.match(revoked.headers.get('www-authenticate') ?? '', /^Bearer realm="latchkey", error="invalid_token"/);

    // Every call above went through the gateway, and not one brought the API an Authorization header.
    assert.ok(!invoices.output().includes(KEY_HERE), invoices.output());

    // Around the gateway, straight to the API: a key is no way in, nor is a principal the client made up.
    const direct = await callJson(`${invoices.url}/v1/invoices`, { authorization: `Bearer ${acmeNoPay}` });
    assert.equal(direct.status, 401);
    assert.equal(direct.body.error.code, 'unauthorized');
    const signed = await callJson(`${invoices.url}/v1/invoices`, { 'latchkey-principal': 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJrZXlfMSJ9.' });
    assert.equal(signed.status, 401);
    // And the API noticed the key it should never have been sent (the check the assertion above relies on).
    assert.ok(invoices.output().includes(KEY_HERE));
  });
});
