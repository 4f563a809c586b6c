import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { writeProductFile } from './fixtures/gateway/product.js';
import { startHandUpstream, startJsonServer, type HandUpstream, type StartedUpstream } from './fixtures/gateway/upstreams.js';
import { freePort, startServer, type RunningServer } from './process.js';
import { createTestDatabase, describeOrSkip, productionServicesSkipReason, TEST_REDIS_URL } from './services.js';

/**
 * Two Latchkey processes, each with its gateway, on one PostgreSQL database and one Redis, in front of one
 * json-server: what one instance decides about a key, the other's gateway applies at its next request.
 */

const ROOT = new URL('..', import.meta.url).pathname;
const skip = (await productionServicesSkipReason()) ?? false;

interface Instance {
  server: RunningServer;
  gateway: string;
}

async function gatewayCall(instance: Instance, secret: string, path = '/contacts') {
  const response = await fetch(instance.gateway + path, { headers: { authorization: `Bearer ${secret}` } });
  const body = (await response.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  return { status: response.status, body };
}

describeOrSkip('gateway: two instances on one PostgreSQL and one Redis', { skip }, () => {
  const instances: Instance[] = [];
  let crm: StartedUpstream;
  let echo: HandUpstream;
  let dropDatabase: (() => Promise<void>) | undefined;
  let cookie = '';
  let csrf = '';
  let keysUrl = '';

  async function manage(method: string, path: string, body?: unknown) {
    const response = await fetch(instances[0]!.server.url + path, {
      method,
      headers: { cookie, 'x-csrf-token': csrf, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  before(async () => {
    [crm, echo] = await Promise.all([startJsonServer(), startHandUpstream('echo')]);
    const database = await createTestDatabase();
    dropDatabase = database.drop;
    const product = writeProductFile({
      upstreams: { crm: { url: crm.url }, echo: { url: echo.url } },
      routes: [
        { method: 'GET', path: '/contacts', upstream: 'crm', scope: 'contacts:read' },
        { method: 'GET', path: '/echo/{what}', upstream: 'echo', scope: 'contacts:read' },
      ],
    });
    const start = async (): Promise<Instance> => {
      const gatewayPort = await freePort();
      const env = { DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, PRODUCT_FILE: product, GATEWAY_PORT: String(gatewayPort), LOG_LEVEL: 'warn' };
      const server = await startServer(process.execPath, ['--import', 'tsx', `${ROOT}src/main.ts`], env, await freePort());
      return { server, gateway: `http://127.0.0.1:${gatewayPort}` };
    };
    // One after the other: both would migrate the same new database at once.
    instances.push(await start());
    instances.push(await start());
    const setup = await fetch(`${instances[0]!.server.url}/v1/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ops@example.com', password: 'correct horse battery', workspace_name: 'Fleet' }),
    });
    assert.equal(setup.status, 201);
    cookie = setup.headers.get('set-cookie')!.split(';')[0]!;
    const body = (await setup.json()) as { csrf_token: string; workspace: { id: string } };
    csrf = body.csrf_token;
    keysUrl = `/v1/workspaces/${body.workspace.id}/api-keys`;
  });

  after(async () => {
    await Promise.all(instances.map((instance) => instance.server.stop()));
    await Promise.all([crm?.stop(), echo?.stop()]);
    await dropDatabase?.();
  });

  it("refuses a key revoked through instance A at instance B's gateway from its next request (5 rounds)", async () => {
    const [a, b] = instances as [Instance, Instance];
    for (let round = 0; round < 5; round++) {
      const key = (await manage('POST', keysUrl, { name: `leaked-${round}`, scopes: ['contacts:read'] })).body;
      // Both gateways have verified the key and answer it from their cache: the 401 below is the broadcast.
      for (const instance of [a, b]) {
        for (let i = 0; i < 2; i++) {
          const passed = await gatewayCall(instance, key.secret);
          assert.equal(passed.status, 200);
          assert.equal(passed.body[0].name, 'Ada Lovelace', 'json-server answered through the gateway');
        }
      }
      assert.equal((await manage('DELETE', `${keysUrl}/${key.id}`)).status, 200);
      const refused = await gatewayCall(b, key.secret);
      assert.deepEqual([refused.status, refused.body.error.code], [401, 'api_key_revoked'], `round ${round}`);
      assert.equal((await gatewayCall(a, key.secret)).status, 401);
    }
  });

  it("applies a scope taken away through A at B's gateway, and each instance's Latchkey-Principal verifies with the other's JWKS", async () => {
    const [a, b] = instances as [Instance, Instance];
    const key = (await manage('POST', keysUrl, { name: 'narrowed', scopes: ['contacts:read', 'contacts:write'] })).body;
    // The signing key is kept in the database the instances share: an upstream may fetch the JWKS from either.
    for (const [signer, publisher] of [
      [a, b],
      [b, a],
    ] as const) {
      const seen = await gatewayCall(signer, key.secret, '/echo/who');
      assert.equal(seen.status, 200);
      const jwks = createRemoteJWKSet(new URL(`${publisher.server.url}/.well-known/jwks.json`));
      const { payload } = await jwtVerify(seen.body.headers['latchkey-principal'], jwks, { issuer: 'latchkey', audience: 'echo' });
      assert.equal(payload.sub, key.id);
    }
    assert.equal((await manage('PATCH', `${keysUrl}/${key.id}`, { scopes: ['contacts:write'] })).status, 200);
    const refused = await gatewayCall(b, key.secret);
    assert.deepEqual([refused.status, refused.body.error.code], [403, 'insufficient_scope']);
  });
});
