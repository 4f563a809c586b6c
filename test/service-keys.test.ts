import assert from 'node:assert/strict';
import { it } from 'node:test';
import { newId } from '../src/ids.js';
import { generateSecret, generateServiceSecret } from '../src/keys/key-format.js';
import { PERMISSIONS, type Permission } from '../src/service-keys/permissions.js';
import { createServiceKeys, SERVICE_KEY_CACHE_MS } from '../src/service-keys/service-keys.js';
import { bodyFor, MANAGEMENT_ROUTES as ROUTES, routeName, urlOf, type Need } from './management-routes.js';
import { Client, createKey, describeEachBackend, newTenant, serviceClient, uniqueEmail, type Harness, type Reply } from './harness.js';
import { inviteAndJoin } from './invite.js';

/** Real ids for every path parameter, in one fresh workspace, and the status each route answers with them. */
interface Fixture {
  ids: Record<string, string>;
}

async function fixture(h: Harness): Promise<Fixture> {
  const owner = await newTenant(h);
  const key = (await createKey(owner)).body;
  const member = await inviteAndJoin(h, owner, uniqueEmail('member'), 'member');
  const endpoint = (await owner.client.post(`/v1/workspaces/${owner.workspaceId}/event-endpoints`, { url: 'https://hooks.example.com/fixture', events: ['*'] })).body;
  const delivery = (await owner.client.post(`/v1/workspaces/${owner.workspaceId}/event-endpoints/${endpoint.id}/test`)).body;
  return {
    ids: {
      workspace_id: owner.workspaceId,
      key_id: key.id,
      secret_id: key.secrets[0].id,
      user_id: member.userId,
      event_id: newId('evt'),
      invitation_id: newId('inv'),
      anomaly_id: newId('anf'),
      token: 'x'.repeat(43),
      endpoint_id: endpoint.id,
      delivery_id: delivery.id,
    },
  };
}

/** What a route answers a key that may call it, with the fixture's ids (the event and anomaly ids are made up: 404). */
const EXPECTED: Record<string, number> = {
  'POST /v1/workspaces': 201,
  'POST /v1/workspaces/{workspace_id}/api-keys': 201,
  'POST /v1/embed/sessions': 201,
  'DELETE /v1/workspaces/{workspace_id}/members/{user_id}': 204,
  'GET /v1/workspaces/{workspace_id}/audit-events/{event_id}': 404,
  'POST /v1/workspaces/{workspace_id}/event-endpoints': 201,
  'POST /v1/workspaces/{workspace_id}/event-endpoints/{endpoint_id}/test': 202,
  'DELETE /v1/workspaces/{workspace_id}/event-endpoints/{endpoint_id}': 204,
  // The fixture's endpoint is the workspace's: the installation's routes do not find it.
  'POST /v1/event-endpoints': 201,
  'GET /v1/event-endpoints/{endpoint_id}': 404,
  'PATCH /v1/event-endpoints/{endpoint_id}': 404,
  'POST /v1/event-endpoints/{endpoint_id}/rotate-secret': 404,
  'POST /v1/event-endpoints/{endpoint_id}/test': 404,
  'GET /v1/event-endpoints/{endpoint_id}/deliveries': 404,
  'POST /v1/event-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry': 404,
  'DELETE /v1/event-endpoints/{endpoint_id}': 404,
  'PATCH /v1/workspaces/{workspace_id}/anomalies/{anomaly_id}': 404,
};

/** What a route's body also asks of the key: a session minted for keys:read needs a key that can read keys. */
const ALSO_NEEDS: Record<string, Permission[]> = { 'POST /v1/embed/sessions': ['keys:read'] };

function call(client: Client, method: string, path: string, f: Fixture): Promise<Reply> {
  return client.request(method as 'GET', urlOf(path, f.ids), bodyFor(method, path, f.ids));
}

describeEachBackend('service keys on the management API', (harness) => {
  it('the table names every management route the app registered, with the permission the route declares', async () => {
    const h = harness();
    const doc = (await h.app.inject({ url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { 'x-required-permission'?: string | null; 'x-session-only'?: boolean; security: unknown[] }>>;
      components: { securitySchemes: Record<string, { type: string; scheme?: string }> };
    };
    const registered = new Map<string, Need>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(ops)) {
        registered.set(routeName(method.toUpperCase(), path), op['x-session-only'] ? 'session' : (op['x-required-permission'] as Need));
      }
    }
    const table = new Map(ROUTES.map(([method, path, need]) => [routeName(method, path), need]));
    assert.deepEqual([...registered.keys()].sort(), [...table.keys()].sort(), 'a management route was added or removed: give it an entry in ROUTES');
    for (const [name, need] of table) assert.equal(registered.get(name), need, `${name} declares another permission than the table`);
    assert.deepEqual(doc.components.securitySchemes.serviceKey, { type: 'http', scheme: 'bearer', description: doc.components.securitySchemes.serviceKey?.['description' as 'type'] });
    assert.deepEqual(doc.paths['/v1/workspaces/{workspace_id}/api-keys']!.post!.security, [{ serviceKey: ['keys:write'] }, { session: [] }, { embedSession: ['keys:write'] }]);
  });

  it('every route is usable with a key holding only its permission (no CSRF), and refused naming the permission without it', async () => {
    const h = harness();
    const f = await fixture(h);
    for (const [method, path, need] of ROUTES) {
      const name = routeName(method, path);
      if (need === 'session') {
        const refused = await call(await serviceClient(h), method, path, f);
        assert.equal(refused.status, 403, `${name}: ${refused.raw}`);
        assert.equal(refused.body.error.code, 'insufficient_permission', name);
        continue;
      }
      if (need !== null) {
        const without = await serviceClient(h, PERMISSIONS.filter((p) => p !== need));
        const refused = await call(without, method, path, f);
        assert.equal(refused.status, 403, `${name} without ${need}: ${refused.raw}`);
        assert.equal(refused.body.error.code, 'insufficient_permission', name);
        assert.equal(refused.body.error.param, need, name);
        assert.ok(refused.body.error.message.includes(need), `${name}: the message names ${need}`);
      }
      const allowed = await serviceClient(h, need === null ? ['keys:verify'] : [need, ...(ALSO_NEEDS[name] ?? [])]);
      const reply = await call(allowed, method, path, f);
      assert.equal(reply.status, EXPECTED[name] ?? 200, `${name} with ${need ?? 'any permission'}: ${reply.raw.slice(0, 300)}`);
    }
  });

  it('a key limited to one workspace reaches it with an Owner’s reach, and no other (404)', async () => {
    const h = harness();
    const mine = await newTenant(h);
    const theirs = await newTenant(h);
    const limited = await serviceClient(h, PERMISSIONS, [mine.workspaceId]);
    assert.equal((await limited.get(mine.keys)).status, 200);
    assert.equal((await limited.get(theirs.keys)).status, 404);
    assert.equal((await limited.get('/v1/workspaces/ws_01m8xwz301dtqnx5tya33231bq')).status, 404);
  });

  it('ignores a session cookie when a service key is sent: the key decides, and is the actor', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const reader = await serviceClient(h, ['workspaces:read']);
    reader.cookie = owner.client.cookie;
    reader.csrf = owner.client.csrf;
    const refused = await reader.get(owner.keys);
    assert.equal(refused.status, 403, 'the owner’s cookie lends the key nothing');
    assert.equal(refused.body.error.param, 'keys:read');

    const writer = await serviceClient(h, ['keys:write']);
    writer.cookie = owner.client.cookie;
    const created = await writer.post(owner.keys, { name: 'by-the-backend', scopes: ['tickets:read'] });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.created_by, { type: 'service_key', id: writer.serviceKeyId, name: 'saas-backend', email: null });
  });

  it('answers 401 invalid_service_key to a bad Bearer, whatever its shape', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const real = await serviceClient(h, ['keys:read']);
    const brand = h.config.keyPrefix;
    const tokens = [
      generateServiceSecret(brand), // well-formed, unknown
      `${real.secret.slice(0, -1)}${real.secret.endsWith('a') ? 'b' : 'a'}`, // checksum wrong
      generateSecret(brand, 'live'), // an API key is not a service key
      generateServiceSecret('other'), // another installation's brand
      'garbage',
      '',
    ];
    for (const token of tokens) {
      const reply = await new Client(h.app).request('GET', owner.keys, undefined, { authorization: `Bearer ${token}` });
      assert.equal(reply.status, 401, `${token.slice(0, 12)}: ${reply.raw}`);
      assert.equal(reply.body.error.code, 'invalid_service_key');
      assert.match(String(reply.headers['www-authenticate']), /^Bearer /);
      assert.ok(token.length < 12 || !reply.raw.includes(token.slice(8)), 'the answer does not echo the token');
    }
    const basic = await new Client(h.app).request('GET', owner.keys, undefined, { authorization: 'Basic dXNlcjpwYXNz' });
    assert.equal(basic.body.error.code, 'invalid_service_key');
  });

  it('refuses a revoked key: at once in the process that revokes it, within the cache time elsewhere (the CLI)', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const backend = await serviceClient(h, ['keys:read']);
    assert.equal((await backend.get(owner.keys)).status, 200);
    // As `latchkey revoke-service-key` does it: another process, whose revoke cannot clear this server's cache.
    const cli = createServiceKeys({ db: h.db, keyPrefix: h.config.keyPrefix });
    const revokedAt = Date.now();
    assert.equal(await cli.revoke(backend.serviceKeyId), true);
    assert.equal(await cli.revoke(backend.serviceKeyId), false, 'a second revoke finds no active key');
    assert.equal(await cli.resolve(backend.secret), null, 'the revoking instance refuses it at once');
    let refused: Reply | undefined;
    while (Date.now() - revokedAt < SERVICE_KEY_CACHE_MS + 2_000) {
      const reply = await backend.get(owner.keys);
      if (reply.status === 401) {
        refused = reply;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(refused?.body.error.code, 'invalid_service_key', `refused within ${SERVICE_KEY_CACHE_MS} ms of the revocation`);
    assert.ok(Date.now() - revokedAt <= SERVICE_KEY_CACHE_MS + 1_000);
  });

  it('trusts a resolved key for the cache time only: a revoke elsewhere is seen after it, one in the same instance at once', async () => {
    const h = harness();
    let t = 1_000_000;
    const server = createServiceKeys({ db: h.db, keyPrefix: h.config.keyPrefix, now: () => t });
    const cli = createServiceKeys({ db: h.db, keyPrefix: h.config.keyPrefix, now: () => t });
    const { serviceKey, secret } = await cli.create({ name: 'cached', permissions: ['keys:read'], workspaceIds: null });
    assert.equal((await server.resolve(secret))?.id, serviceKey.id);
    await cli.revoke(serviceKey.id);
    t += SERVICE_KEY_CACHE_MS - 1;
    assert.equal((await server.resolve(secret))?.id, serviceKey.id, 'within the cache time, another process’s revoke is not seen yet');
    t += 1;
    assert.equal(await server.resolve(secret), null, 'past it, the key is refused');

    const second = await server.create({ name: 'in-process', permissions: ['keys:read'], workspaceIds: null });
    assert.equal((await server.resolve(second.secret))?.id, second.serviceKey.id);
    await server.revoke(second.serviceKey.id);
    assert.equal(await server.resolve(second.secret), null, 'the revoking instance drops its cache');
  });

  it('records Latchkey-On-Behalf-Of beside the service key in the management log, and refuses one over 200 characters', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const backend = await serviceClient(h, ['keys:write', 'audit:read']);
    const created = await backend.request('POST', owner.keys, { name: 'for-alice', scopes: ['tickets:read'] }, { 'latchkey-on-behalf-of': 'alice@customer.example' });
    assert.equal(created.status, 201);
    assert.equal(created.body.created_by.type, 'service_key');
    assert.equal(created.body.created_by.id, backend.serviceKeyId);

    const row = await h.db.selectFrom('management_events').selectAll().where('target_id', '=', created.body.id).where('action', '=', 'api_key.create').executeTakeFirstOrThrow();
    assert.deepEqual([row.actor_service_key_id, row.actor_user_id, row.on_behalf_of], [backend.serviceKeyId, null, 'alice@customer.example']);
    const listed = await backend.get(`/v1/workspaces/${owner.workspaceId}/management-events?action=api_key.create`);
    const event = listed.body.data.find((e: { target: { id: string } | null }) => e.target?.id === created.body.id);
    assert.equal(event?.actor?.type, 'service_key');
    assert.equal(event?.actor?.id, backend.serviceKeyId);
    assert.equal(event?.on_behalf_of ?? event?.actor?.on_behalf_of, 'alice@customer.example');

    for (const value of ['a'.repeat(201), 'line\nbreak']) {
      const refused = await backend.request('POST', owner.keys, { name: 'x', scopes: ['tickets:read'] }, { 'latchkey-on-behalf-of': value });
      assert.equal(refused.status, 400, refused.raw);
      assert.equal(refused.body.error.code, 'invalid_request');
      assert.equal(refused.body.error.param, 'Latchkey-On-Behalf-Of');
    }
    assert.equal((await backend.request('POST', owner.keys, { name: 'x', scopes: ['tickets:read'] }, { 'latchkey-on-behalf-of': 'a'.repeat(200) })).status, 201);
  });

  it('records when a service key was last used (as precise as its 5 s cache), never before its first call', async () => {
    const h = harness();
    const backend = await serviceClient(h, ['keys:read']);
    const lastUsed = async () =>
      (await h.db.selectFrom('service_keys').select('last_used_at').where('id', '=', backend.serviceKeyId).executeTakeFirstOrThrow()).last_used_at;
    assert.equal(await lastUsed(), null);
    const before = Date.now();
    assert.equal((await backend.get('/v1/scopes')).status, 200);
    let used: Date | null = null;
    for (let i = 0; i < 50 && used === null; i++) {
      used = await lastUsed();
      if (used === null) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(used && used.getTime() >= before - 1000, `last_used_at ${String(used)}`);
  });
});
