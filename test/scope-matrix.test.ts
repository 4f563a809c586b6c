import assert from 'node:assert/strict';
import { it } from 'node:test';
import { seedDemoData } from '../src/api/demo-data.js';
import { API_ROUTES } from '../src/api/resources.js';
import { apiCall, createKey, describeEachBackend, newTenant, type Harness, type Reply, type Tenant } from './harness.js';
import { documentedRoutes, PRODUCT_ROUTES, PRODUCT_SCOPES, routeName, type ProductRoute } from './product-routes.js';

/**
 * The expected scope of every route comes from PRODUCT.md's table (test/product-routes.ts), never from
 * the code's own route list: when the expectation is read from API_ROUTES, a DELETE changed to need the
 * read scope moves the expectation with it and the suite stays green while a read-only key deletes.
 */

/** One key per scope of the catalog, each holding that scope alone. */
async function keyPerScope(tenant: Tenant): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  for (const scope of PRODUCT_SCOPES) {
    const key = await createKey(tenant, { name: `only ${scope}`, mode: 'live', scopes: [scope], rate_limit: { per_minute: 1000 } });
    assert.equal(key.status, 201, key.raw);
    keys.set(scope, key.body.secret);
  }
  return keys;
}

/** One key per scope of the catalog, each holding every scope but that one. */
async function keyPerMissingScope(tenant: Tenant): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  for (const missing of PRODUCT_SCOPES) {
    const scopes = PRODUCT_SCOPES.filter((s) => s !== missing);
    const key = await createKey(tenant, { name: `all but ${missing}`, mode: 'live', scopes, rate_limit: { per_minute: 1000 } });
    assert.equal(key.status, 201, key.raw);
    keys.set(missing, key.body.secret);
  }
  return keys;
}

/** A workspace with demo data, and the id of one record of each resource to put in `{id}`. */
async function seededTenant(h: Harness): Promise<{ tenant: Tenant; pathOf: (route: ProductRoute) => string }> {
  const tenant = await newTenant(h);
  await seedDemoData(h.db, tenant.workspaceId, h.clock.now);
  const reader = (await createKey(tenant, { name: 'reader', scopes: [...PRODUCT_SCOPES], rate_limit: { per_minute: 1000 } })).body.secret;
  const ids = new Map<string, string>();
  for (const resource of ['conversations', 'contacts', 'tickets', 'scorecards', 'agents', 'webhooks', 'knowledge_base', 'accounts', 'policies']) {
    const list = await apiCall(h, reader, `/api/v1/${resource}`);
    assert.equal(list.status, 200, list.raw);
    assert.ok(list.body.data.length > 0, `demo data fills ${resource}`);
    ids.set(resource, list.body.data[0].id);
  }
  const pathOf = (route: ProductRoute) => route.path.replace('{id}', ids.get(route.path.split('/')[3] ?? '') ?? 'none');
  return { tenant, pathOf };
}

function call(h: Harness, secret: string, route: ProductRoute, path: string): Promise<Reply> {
  // Writes send an empty object: enough to pass or fail the scope check, which comes before validation.
  return apiCall(h, secret, path, { method: route.method, ...(route.method === 'POST' || route.method === 'PATCH' ? { body: {} } : {}) });
}

function assertRefused(reply: Reply, scope: string, where: string): void {
  assert.equal(reply.status, 403, where);
  assert.equal(reply.body.error.code, 'insufficient_scope', where);
  assert.ok(reply.body.error.message.includes(scope), `${where}: the message names ${scope}`);
}

function assertLetThrough(reply: Reply, where: string): void {
  assert.ok(reply.status !== 401 && reply.status !== 403 && reply.status < 500, where);
}

const label = (route: ProductRoute, who: string, reply: Reply) => `${routeName(route)} with ${who}: ${reply.status} ${reply.raw.slice(0, 200)}`;

describeEachBackend('route × scope matrix', (harness) => {
  it('serves exactly the routes of PRODUCT.md under /api/v1, as /openapi.json lists them', async () => {
    const h = harness();
    const doc = (await h.app.inject({ url: '/openapi.json' })).json();
    const served = documentedRoutes(doc).map(routeName).sort();
    assert.deepEqual(served, PRODUCT_ROUTES.map(routeName).sort(), 'a route added to the code is added to test/product-routes.ts (and PRODUCT.md) too');
    // The code's own table must say the same, since the plugin registers from it.
    for (const route of API_ROUTES) {
      const path = route.url.replace(':id', '{id}');
      const product = PRODUCT_ROUTES.find((p) => p.method === route.method && p.path === path);
      assert.equal(route.scope, product?.scope, `${route.method} ${path} in API_ROUTES`);
    }
  });

  it('refuses a key holding every scope but the route\'s, and lets one holding exactly the route\'s through, on every documented route', async () => {
    const h = harness();
    const { tenant, pathOf } = await seededTenant(h);
    const allBut = await keyPerMissingScope(tenant);
    const only = await keyPerScope(tenant);
    const doc = (await h.app.inject({ url: '/openapi.json' })).json();
    let checked = 0;
    for (const documented of documentedRoutes(doc)) {
      const route = PRODUCT_ROUTES.find((p) => routeName(p) === routeName(documented));
      assert.ok(route, `${routeName(documented)} is in PRODUCT.md's table`);
      if (route.scope === null) continue;
      const refused = await call(h, allBut.get(route.scope)!, route, pathOf(route));
      assertRefused(refused, route.scope, label(route, `every scope but ${route.scope}`, refused));
      const granted = await call(h, only.get(route.scope)!, route, pathOf(route));
      assertLetThrough(granted, label(route, `${route.scope} alone`, granted));
      checked++;
    }
    assert.equal(checked, PRODUCT_ROUTES.filter((r) => r.scope !== null).length);
  });

  it('lets exactly the route\'s scope through, on every route, for every scope of the catalog', async () => {
    const h = harness();
    const { tenant, pathOf } = await seededTenant(h);
    const keys = await keyPerScope(tenant);
    let checked = 0;
    for (const route of PRODUCT_ROUTES) {
      for (const [scope, secret] of keys) {
        const reply = await call(h, secret, route, pathOf(route));
        const where = label(route, scope, reply);
        if (route.scope === null || route.scope === scope) assertLetThrough(reply, where);
        else assertRefused(reply, route.scope, where);
        checked++;
      }
    }
    assert.equal(checked, PRODUCT_ROUTES.length * PRODUCT_SCOPES.length);
  });

  it('keeps live and test views apart, and every workspace apart, on every read route', async () => {
    const h = harness();
    const mine = await newTenant(h);
    const theirs = await newTenant(h);
    await seedDemoData(h.db, mine.workspaceId, h.clock.now);
    await seedDemoData(h.db, theirs.workspaceId, h.clock.now);
    const readScopes = PRODUCT_SCOPES.filter((s) => s.endsWith(':read') || s === 'webhooks:manage');
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
