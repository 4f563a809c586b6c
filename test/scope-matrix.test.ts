import assert from 'node:assert/strict';
import { it } from 'node:test';
import { seedDemoData } from '../src/api/demo-data.js';
import { API_ROUTES } from '../src/api/resources.js';
import { SCOPE_CATALOG } from '../src/keys/scopes.js';
import { apiCall, createKey, describeEachBackend, newTenant, type Harness, type Tenant } from './harness.js';

const SELF_ROUTES = [
  { method: 'GET', url: '/api/v1/api_keys/current', scope: null },
  { method: 'POST', url: '/api/v1/api_keys/current/rotate', scope: 'keys:rotate_self' },
] as const;

/** Every route of the public API with the scope it needs; a route added without a scope fails at startup. */
const ROUTES = [...API_ROUTES.map((r) => ({ method: r.method, url: r.url, scope: r.scope as string | null })), ...SELF_ROUTES];

/** One key per scope of the catalog, each holding that scope alone, in a workspace with demo data. */
async function keyPerScope(h: Harness, tenant: Tenant, mode: 'live' | 'test'): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  for (const { scope } of SCOPE_CATALOG) {
    const key = await createKey(tenant, { name: `only ${scope}`, mode, scopes: [scope], rate_limit: { per_minute: 1000 } });
    keys.set(scope, key.body.secret);
  }
  return keys;
}

async function firstId(h: Harness, secret: string, path: string): Promise<string> {
  const list = await apiCall(h, secret, path);
  assert.equal(list.status, 200, list.raw);
  assert.ok(list.body.data.length > 0, `demo data fills ${path}`);
  return list.body.data[0].id;
}

describeEachBackend('route × scope matrix', (harness) => {
  it('lets exactly the route\'s scope through, on every route, for every scope of the catalog', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    await seedDemoData(h.db, tenant.workspaceId, h.clock.now);
    const keys = await keyPerScope(h, tenant, 'live');
    const ids = new Map<string, string>();
    for (const resource of ['conversations', 'contacts', 'tickets', 'scorecards', 'agents', 'webhooks', 'knowledge_base', 'accounts', 'policies']) {
      const scope = resource === 'webhooks' ? 'webhooks:manage' : `${resource}:read`;
      ids.set(resource, await firstId(h, keys.get(scope)!, `/api/v1/${resource}`));
    }

    let checked = 0;
    for (const route of ROUTES) {
      const resource = route.url.split('/')[3] ?? '';
      const path = route.url.replace(':id', ids.get(resource) ?? 'none');
      for (const [scope, secret] of keys) {
        // Writes send an empty object: enough to pass or fail the scope check, which comes first.
        const reply = await apiCall(h, secret, path, { method: route.method, ...(route.method === 'POST' || route.method === 'PATCH' ? { body: {} } : {}) });
        const granted = route.scope === null || route.scope === scope;
        const where = `${route.method} ${route.url} with ${scope}: ${reply.status} ${reply.raw.slice(0, 200)}`;
        if (granted) {
          assert.ok(reply.status < 500 && reply.body?.error?.code !== 'insufficient_scope' && reply.status !== 401, where);
        } else {
          assert.equal(reply.status, 403, where);
          assert.equal(reply.body.error.code, 'insufficient_scope', where);
          assert.ok(reply.body.error.message.includes(route.scope!), where);
        }
        checked++;
      }
    }
    assert.equal(checked, ROUTES.length * SCOPE_CATALOG.length);
  });

  it('keeps live and test views apart, and every workspace apart, on every read route', async () => {
    const h = harness();
    const mine = await newTenant(h);
    const theirs = await newTenant(h);
    await seedDemoData(h.db, mine.workspaceId, h.clock.now);
    await seedDemoData(h.db, theirs.workspaceId, h.clock.now);
    const readScopes = SCOPE_CATALOG.map((s) => s.scope).filter((s) => s.endsWith(':read') || s === 'webhooks:manage');
    const all = { scopes: readScopes, rate_limit: { per_minute: 1000 } };
    const live = (await createKey(mine, { ...all, mode: 'live' })).body.secret;
    const test = (await createKey(mine, { ...all, mode: 'test' })).body.secret;
    const other = (await createKey(theirs, { ...all, mode: 'live' })).body.secret;

    for (const route of API_ROUTES.filter((r) => r.operation === 'list')) {
      const idsOf = async (secret: string) => new Set<string>((await apiCall(h, secret, route.url)).body.data.map((r: { id: string }) => r.id));
      const [liveIds, testIds, otherIds] = await Promise.all([idsOf(live), idsOf(test), idsOf(other)]);
      assert.ok(liveIds.size > 0 && testIds.size > 0, `${route.url} has data in both views`);
      for (const id of liveIds) assert.ok(!testIds.has(id) && !otherIds.has(id), `${route.url}: ${id} is seen by one view only`);
      const liveId = [...liveIds][0]!;
      for (const [secret, who] of [[test, 'the test view'], [other, 'another workspace']] as const) {
        const reply = await apiCall(h, secret, `${route.url}/${liveId}`);
        assert.equal(reply.status, 404, `${route.url}/${liveId} from ${who}`);
        assert.equal(reply.body.error.code, 'not_found');
      }
      assert.equal((await apiCall(h, live, `${route.url}/${liveId}`)).status, 200);
    }
  });

  it('writes through a test key land in the test view only', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const scopes = ['tickets:read', 'tickets:write'];
    const live = (await createKey(tenant, { scopes, mode: 'live' })).body.secret;
    const test = (await createKey(tenant, { scopes, mode: 'test' })).body.secret;
    const created = await apiCall(h, test, '/api/v1/tickets', { method: 'POST', body: { subject: 'From CI' } });
    assert.equal(created.status, 201, created.raw);
    assert.equal((await apiCall(h, test, `/api/v1/tickets/${created.body.id}`)).status, 200);
    assert.equal((await apiCall(h, live, `/api/v1/tickets/${created.body.id}`)).status, 404);
    assert.equal((await apiCall(h, live, `/api/v1/tickets/${created.body.id}`, { method: 'PATCH', body: { subject: 'x' } })).status, 404);
    assert.deepEqual((await apiCall(h, live, '/api/v1/tickets')).body.data, []);
  });
});
