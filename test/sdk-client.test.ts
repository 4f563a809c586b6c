import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { generate, OPENAPI_JSON, SCHEMA_TS } from '../packages/sdk/scripts/openapi.js';
import { createClient, createLatchkey, LatchkeyError, type ErrorBody } from '../packages/sdk/src/index.js';
import { createKey, describeEachBackend, newTenant, serviceClient } from './harness.js';

/**
 * The SDK's types are generated from Latchkey's OpenAPI document; the committed copies must be what the
 * app describes today, or the typed client would promise routes and fields that are not there.
 */
describe('@latchkey/sdk generated contract', () => {
  it('openapi.json and src/schema.d.ts are what the app generates now (else: npm run generate -w @latchkey/sdk)', async () => {
    const { json, types } = await generate();
    assert.equal(await readFile(OPENAPI_JSON, 'utf8'), json, 'packages/sdk/openapi.json is stale');
    assert.equal(await readFile(SCHEMA_TS, 'utf8'), types, 'packages/sdk/src/schema.d.ts is stale');
  });
});

describeEachBackend('@latchkey/sdk typed management client against a real Latchkey', (harness) => {
  let baseUrl: string;
  before(async () => {
    const h = harness();
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  });

  it('sends the service key as Bearer and Latchkey-On-Behalf-Of; answers and refusals come back typed', async () => {
    const h = harness();
    const backend = await serviceClient(h, ['workspaces:read', 'workspaces:write', 'audit:read']);
    const client = createClient({ baseUrl, serviceKey: backend.secret, onBehalfOf: 'alice@saas.example' });
    const externalId = `acct-${Math.random().toString(36).slice(2, 10)}`;

    const created = await client.POST('/v1/workspaces', { body: { name: 'Acme Corp', external_id: externalId } });
    assert.equal(created.response.status, 201);
    assert.equal(created.data?.external_id, externalId);
    const again = await client.POST('/v1/workspaces', { body: { name: 'Acme Corp', external_id: externalId } });
    assert.equal(again.response.status, 409);
    assert.equal((again.error as ErrorBody | undefined)?.error.code, 'external_id_taken');
    const found = await client.GET('/v1/workspaces', { params: { query: { external_id: externalId } } });
    assert.deepEqual(found.data?.data.map((w) => w.id), [created.data!.id]);

    const log = await backend.get(`/v1/workspaces/${created.data!.id}/management-events`);
    const event = (log.body.data as Array<{ action: string; on_behalf_of: string | null }>).find((e) => e.action === 'workspace.create');
    assert.equal(event?.on_behalf_of, 'alice@saas.example');

    const stranger = createClient({ baseUrl, serviceKey: `${h.config.keyPrefix}_svc_${'A'.repeat(40)}` });
    const refused = await stranger.GET('/v1/workspaces', { params: { query: { external_id: externalId } } });
    assert.equal(refused.response.status, 401);
    assert.equal((refused.error as ErrorBody | undefined)?.error.code, 'invalid_service_key');
  });

  it('verify() answers with Latchkey\'s typed verdict, and rejects when Latchkey refuses the call itself', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { scopes: ['tickets:read'], meta: { plan: 'pro' } })).body as { id: string; secret: string };
    const verifier = await serviceClient(h, ['keys:verify']);
    const latchkey = createLatchkey({ baseUrl, serviceKey: verifier.secret });
    try {
      const valid = await latchkey.verify({ key: key.secret, scopes: ['tickets:read'], client_ip: '203.0.113.7', method: 'GET', path: '/v1/things' });
      assert.equal(valid.valid, true);
      assert.equal(valid.code, 'valid');
      assert.equal(valid.key?.id, key.id);
      assert.deepEqual(valid.key?.meta, { plan: 'pro' });
      assert.equal(valid.workspace?.id, tenant.workspaceId);
      const missing = await latchkey.verify({ key: key.secret, scopes: ['tickets:write'], client_ip: '203.0.113.7' });
      assert.deepEqual([missing.valid, missing.code, missing.missing_scopes], [false, 'insufficient_scope', ['tickets:write']]);
      await assert.rejects(latchkey.verify({ key: key.secret, scopes: ['not:a-scope'], client_ip: '203.0.113.7' }), (error: unknown) => {
        assert.ok(error instanceof LatchkeyError);
        assert.deepEqual([error.status, error.code], [400, 'invalid_request']);
        return true;
      });
      const unpermitted = createLatchkey({ baseUrl, serviceKey: backendWithout(h) });
      await assert.rejects(unpermitted.verify({ key: key.secret, client_ip: '203.0.113.7' }), { name: 'LatchkeyError', status: 401 });
      unpermitted.close();
    } finally {
      latchkey.close();
    }
  });
});

/** A service key that does not exist (well-formed, unknown). */
function backendWithout(h: { config: { keyPrefix: string } }): string {
  return `${h.config.keyPrefix}_svc_${'B'.repeat(40)}`;
}
