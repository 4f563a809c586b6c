import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiCall, createKey, describeEachBackend, newTenant, signIn, uniqueEmail, type Client, type Harness, type Tenant } from './harness.js';
import { inviteAndJoin } from './invite.js';

interface AuditEventJson {
  id: string;
  object: string;
  created_at: string;
  status: number;
  route: string | null;
  path: string;
  method: string;
  error_code: string | null;
  source_ip: string;
  request_id: string;
  key: { id: string; name: string; secret_version: number } | null;
  [field: string]: unknown;
}

const eventsUrl = (tenant: Tenant, query = '') => `/v1/workspaces/${tenant.workspaceId}/audit-events${query ? `?${query}` : ''}`;

/**
 * Events reach the database through the batched writer, a few hundred milliseconds after the call:
 * polls the search until it shows `count` events (and no more arrive), rather than sleeping blindly.
 */
async function waitForEvents(client: Client, url: string, count: number): Promise<AuditEventJson[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const reply = await client.get(url);
    assert.equal(reply.status, 200, reply.raw);
    if (reply.body.data.length >= count) {
      assert.equal(reply.body.data.length, count, `expected ${count} events, found ${reply.body.data.length}`);
      return reply.body.data as AuditEventJson[];
    }
    if (Date.now() > deadline) assert.fail(`only ${reply.body.data.length} of ${count} events appeared at ${url}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function search(client: Client, url: string): Promise<AuditEventJson[]> {
  const reply = await client.get(url);
  assert.equal(reply.status, 200, reply.raw);
  return reply.body.data as AuditEventJson[];
}

/** A workspace with a key, and some calls: ping, current, a list, a refused scope, from two addresses. */
async function withTraffic(h: Harness) {
  const tenant = await newTenant(h);
  const key = (await createKey(tenant, { name: 'crm-sync', scopes: ['tickets:read'] })).body;
  const other = (await createKey(tenant, { name: 'warehouse', scopes: ['contacts:read'] })).body;
  const calls = [
    await apiCall(h, key.secret, '/api/v1/ping', { headers: { 'user-agent': 'crm-sync/1.0' } }),
    await apiCall(h, key.secret, '/api/v1/api_keys/current'),
    await apiCall(h, key.secret, '/api/v1/tickets?limit=5', { ip: '203.0.113.7' }),
    await apiCall(h, key.secret, '/api/v1/contacts', { ip: '203.0.113.7' }),
    await apiCall(h, key.secret, '/api/v1/api_keys/current/rotate', { method: 'POST' }),
    await apiCall(h, other.secret, '/api/v1/contacts/cont_nope'),
  ];
  assert.deepEqual(calls.map((c) => c.status), [200, 200, 200, 403, 403, 404]);
  const events = await waitForEvents(tenant.client, eventsUrl(tenant, 'limit=100'), calls.length);
  return { tenant, key, other, calls, events };
}

const ids = (events: readonly { id: string }[]) => events.map((e) => e.id);

describeEachBackend('audit log search', (harness) => {
  it('lists every call of the workspace, refused ones included, newest first, with every field', async () => {
    const h = harness();
    const { tenant, key, calls, events } = await withTraffic(h);
    assert.deepEqual(ids(events), [...ids(events)].sort().reverse(), 'newest first');
    const byRequest = new Map(events.map((e) => [e.request_id, e]));
    assert.deepEqual(
      calls.map((c) => byRequest.get(String(c.headers['request-id']))?.status),
      calls.map((c) => c.status),
      'one event per call, found by its Request-Id',
    );

    const ping = byRequest.get(String(calls[0]!.headers['request-id']))!;
    assert.deepEqual(Object.keys(ping).sort(), [
      'argument_hash', 'created_at', 'error_code', 'id', 'key', 'latency_ms', 'method', 'mode', 'object', 'path', 'request_id',
      'route', 'scope', 'source_ip', 'status', 'upstream_ms', 'user_agent',
    ]);
    assert.match(ping.id, /^evt_[0-9a-z]{26}$/);
    assert.equal(ping.upstream_ms, null, 'only a gateway call has an upstream');
    assert.equal(ping.object, 'audit_event');
    assert.ok(!Number.isNaN(Date.parse(ping.created_at)));
    assert.deepEqual(
      { mode: ping.mode, key: ping.key, method: ping.method, route: ping.route, path: ping.path, status: ping.status, user_agent: ping.user_agent, error_code: ping.error_code, scope: ping.scope },
      { mode: 'live', key: { id: key.id, name: 'crm-sync', secret_version: 1 }, method: 'GET', route: '/api/v1/ping', path: '/api/v1/ping', status: 200, user_agent: 'crm-sync/1.0', error_code: null, scope: null },
    );
    assert.equal(typeof ping.latency_ms, 'number');
    assert.match(String(ping.argument_hash), /^[0-9a-f]{64}$/);

    const refused = byRequest.get(String(calls[3]!.headers['request-id']))!;
    assert.deepEqual(
      [refused.status, refused.error_code, refused.scope, refused.source_ip, refused.route],
      [403, 'insufficient_scope', 'contacts:read', '203.0.113.7', '/api/v1/contacts'],
    );
    const list = await tenant.client.get(eventsUrl(tenant, 'limit=100'));
    assert.deepEqual([list.body.object, list.body.has_more, list.body.next_cursor], ['list', false, null]);
  });

  it('filters by key, route, method, status, status class, error code and source IP', async () => {
    const h = harness();
    const { tenant, key, other } = await withTraffic(h);
    // No call of the reference API fails on its own here, so two server errors are written as the audit
    // writer writes them: the status-class filter then has 5xx events to find, and others to leave out.
    const { newId } = await import('../src/ids.js');
    await h.db
      .insertInto('audit_events')
      .values(
        [500, 503].map((status) => ({
          id: newId('evt'), created_at: new Date(), workspace_id: tenant.workspaceId, mode: 'live' as const, key_id: key.id, key_name: 'crm-sync',
          secret_id: null, secret_version: 1, method: 'GET', route: '/api/v1/tickets', path: '/api/v1/tickets', status, latency_ms: 3,
          source_ip: '198.51.100.9', user_agent: null, request_id: newId('req'), error_code: status === 503 ? 'service_unavailable' : 'internal_error',
          scope: 'tickets:read', argument_hash: '0'.repeat(64),
        })),
      )
      .execute();
    const events = await search(tenant.client, eventsUrl(tenant, 'limit=100'));
    assert.equal(events.length, 8);
    const expect = (keep: (e: AuditEventJson) => boolean) => ids(events.filter(keep));
    const cases: [string, (e: AuditEventJson) => boolean][] = [
      [`key_id=${key.id}`, (e) => e.key?.id === key.id],
      [`key_id=${other.id}`, (e) => e.key?.id === other.id],
      ['route=/api/v1/contacts', (e) => e.route === '/api/v1/contacts'],
      ['route=/api/v1/contacts/:id', (e) => e.route === '/api/v1/contacts/:id'],
      // A trailing * is a prefix of the route pattern or of the path.
      [`route=${encodeURIComponent('/api/v1/contacts*')}`, (e) => e.path.startsWith('/api/v1/contacts')],
      [`route=${encodeURIComponent('/api/v1/api_keys/*')}`, (e) => e.path.startsWith('/api/v1/api_keys/')],
      [`route=${encodeURIComponent('/api/v1/contacts/cont_*')}`, (e) => e.path === '/api/v1/contacts/cont_nope'],
      ['method=POST', (e) => e.method === 'POST'],
      ['method=get', (e) => e.method === 'GET'],
      ['status=200', (e) => e.status === 200],
      ['status=404', (e) => e.status === 404],
      ['status=4xx', (e) => e.status >= 400 && e.status < 500],
      ['status=2XX', (e) => e.status >= 200 && e.status < 300],
      ['status=5xx', (e) => e.status >= 500],
      ['status=503', (e) => e.status === 503],
      ['error_code=service_unavailable', (e) => e.error_code === 'service_unavailable'],
      ['error_code=insufficient_scope', (e) => e.error_code === 'insufficient_scope'],
      ['source_ip=203.0.113.7', (e) => e.source_ip === '203.0.113.7'],
      [`key_id=${key.id}&status=4xx&source_ip=203.0.113.7`, (e) => e.key?.id === key.id && e.status >= 400 && e.source_ip === '203.0.113.7'],
    ];
    for (const [query, keep] of cases) {
      const expected = expect(keep);
      assert.ok(expected.length > 0 && expected.length < events.length, `the fixture exercises ${query}: some events match, some do not`);
      assert.deepEqual(ids(await search(tenant.client, eventsUrl(tenant, `${query}&limit=100`))), expected, query);
    }
    // The prefix's own LIKE wildcards match only themselves.
    assert.deepEqual(await search(tenant.client, eventsUrl(tenant, `route=${encodeURIComponent('/api/v1/contacts/cont%*')}`)), []);
    assert.deepEqual(await search(tenant.client, eventsUrl(tenant, `route=${encodeURIComponent('/api/v1/contacts/cont_nop_*')}`)), []);
  });

  it('filters by time: from is inclusive, to exclusive', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    await apiCall(h, key.secret, '/api/v1/ping');
    const [early] = await waitForEvents(tenant.client, eventsUrl(tenant), 1);
    h.clock.advance(3600);
    try {
      await apiCall(h, key.secret, '/api/v1/api_keys/current');
      const [late] = await waitForEvents(tenant.client, eventsUrl(tenant), 2);
      const lateAt = late!.created_at;
      const between = new Date(Date.parse(early!.created_at) + 1800_000).toISOString();
      const query = (q: string) => search(tenant.client, eventsUrl(tenant, q));
      assert.deepEqual(ids(await query(`from=${between}`)), [late!.id]);
      assert.deepEqual(ids(await query(`to=${between}`)), [early!.id]);
      assert.deepEqual(ids(await query(`from=${lateAt}`)), [late!.id], 'from is inclusive');
      assert.deepEqual(ids(await query(`to=${lateAt}`)), [early!.id], 'to is exclusive');
      assert.deepEqual(ids(await query(`from=${early!.created_at}&to=${lateAt}`)), [early!.id]);
      // An offset other than Z, and a whole day (midnight UTC), are ISO 8601 too.
      const plusTwo = new Date(Date.parse(between) + 2 * 3600_000).toISOString().replace('Z', '+02:00').replace(/\.\d+/, '');
      assert.deepEqual(ids(await query(`from=${encodeURIComponent(plusTwo)}`)), [late!.id]);
      const tomorrow = new Date(Date.parse(lateAt) + 86_400_000).toISOString().slice(0, 10);
      assert.deepEqual(ids(await query(`from=${tomorrow}`)), []);
      assert.equal((await query(`to=${tomorrow}`)).length, 2);
    } finally {
      h.clock.advance(-3600);
    }
  });

  it('pages with a cursor, newest first, each event once', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    for (let i = 0; i < 7; i++) await apiCall(h, key.secret, `/api/v1/ping?n=${i}`);
    const all = await waitForEvents(tenant.client, eventsUrl(tenant, 'limit=100'), 7);
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const reply = await tenant.client.get(eventsUrl(tenant, `limit=3${cursor ? `&cursor=${cursor}` : ''}`));
      assert.equal(reply.status, 200);
      assert.equal(reply.body.has_more, reply.body.next_cursor !== null);
      if (reply.body.has_more) assert.equal(reply.body.next_cursor, reply.body.data.at(-1).id);
      seen.push(...ids(reply.body.data));
      sizes.push(reply.body.data.length);
      cursor = reply.body.next_cursor;
    } while (cursor);
    assert.deepEqual(sizes, [3, 3, 1]);
    assert.deepEqual(seen, ids(all));
    // The default page is 20.
    for (let i = 0; i < 14; i++) await apiCall(h, key.secret, '/api/v1/ping');
    await waitForEvents(tenant.client, eventsUrl(tenant, 'limit=100'), 21);
    const first = await tenant.client.get(eventsUrl(tenant));
    assert.deepEqual([first.body.data.length, first.body.has_more], [20, true]);
    // A cursor with a filter pages within the filter.
    const filtered = await tenant.client.get(eventsUrl(tenant, `limit=2&cursor=${seen[2]}&route=/api/v1/ping`));
    assert.deepEqual(ids(filtered.body.data), seen.slice(3, 5));
  });

  it('refuses bad filters with 400 naming the parameter', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const cases: [string, string][] = [
      ['status=4x', 'status'],
      ['status=600', 'status'],
      ['status=42', 'status'],
      ['status=abc', 'status'],
      ['method=FETCH', 'method'],
      ['from=yesterday', 'from'],
      ['from=2026-02-31', 'from'],
      ['from=2026-05-01T10:00:00', 'from'],
      ['to=2026-13-01T00:00:00Z', 'to'],
      ['from=2026-05-02T00:00:00Z&to=2026-05-01T00:00:00Z', 'to'],
      ['from=2026-05-01&to=2026-05-01', 'to'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=ten', 'limit'],
      [`key_id=${'k'.repeat(65)}`, 'key_id'],
      ['key_id=', 'key_id'],
      [`route=${'/x'.repeat(200)}`, 'route'],
      ['source_ip=%00', 'source_ip'],
      [`cursor=${'c'.repeat(65)}`, 'cursor'],
      ['status_code=500', 'status_code'],
    ];
    for (const [query, param] of cases) {
      const reply = await tenant.client.get(eventsUrl(tenant, query));
      assert.equal(reply.status, 400, `${query}: ${reply.raw}`);
      assert.equal(reply.body.error.code, 'invalid_request', query);
      assert.equal(reply.body.error.param, param, `${query}: ${reply.body.error.message}`);
      assert.ok(reply.body.error.message.includes(param), `${query}: ${reply.body.error.message}`);
    }
    const management = await tenant.client.get(`/v1/workspaces/${tenant.workspaceId}/management-events?actor_email=nobody`);
    assert.deepEqual([management.status, management.body.error.param], [400, 'actor_email']);
  });

  it('shows one workspace only: another workspace\'s events and ids answer 404', async () => {
    const h = harness();
    const mine = await withTraffic(h);
    const theirs = await withTraffic(h);
    const foreign = theirs.events[0]!;
    const detail = await mine.tenant.client.get(`${eventsUrl(mine.tenant)}/${foreign.id}`);
    assert.deepEqual([detail.status, detail.body.error.code], [404, 'not_found']);
    assert.deepEqual(await search(mine.tenant.client, eventsUrl(mine.tenant, `key_id=${theirs.key.id}`)), []);
    for (const url of [
      eventsUrl(theirs.tenant),
      `${eventsUrl(theirs.tenant)}/${foreign.id}`,
      `${eventsUrl(theirs.tenant)}/export`,
      `/v1/workspaces/${theirs.tenant.workspaceId}/management-events`,
    ]) {
      const reply = await mine.tenant.client.get(url);
      assert.deepEqual([reply.status, reply.body.error.code], [404, 'not_found'], url);
    }
    for (const id of ['evt_nope', 'evt_zzzzzzzzzzzzzzzzzzzzzzzzzz', 'evt_00000000000000000000000000']) {
      assert.equal((await mine.tenant.client.get(`${eventsUrl(mine.tenant)}/${id}`)).status, 404, id);
    }
  });

  it('refuses a Member with 403 on every audit route', async () => {
    const h = harness();
    const { tenant, events } = await withTraffic(h);
    const memberEmail = uniqueEmail('member');
    const { client: member } = await inviteAndJoin(h, tenant, memberEmail, 'member');
    for (const url of [
      eventsUrl(tenant),
      `${eventsUrl(tenant)}?status=nonsense`,
      `${eventsUrl(tenant)}/${events[0]!.id}`,
      `${eventsUrl(tenant)}/export?format=csv`,
      `/v1/workspaces/${tenant.workspaceId}/management-events`,
    ]) {
      const reply = await member.get(url);
      assert.deepEqual([reply.status, reply.body.error.code], [403, 'insufficient_role'], url);
      assert.match(reply.body.error.message, /Owner or Admin/);
    }
  });

  it('opens one event with its redacted payload while it is younger than 7 days', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { scopes: ['tickets:read', 'tickets:write'] })).body;
    const created = await apiCall(h, key.secret, `/api/v1/tickets?source=crm&access_token=${key.secret}`, {
      method: 'POST',
      body: { subject: 'Printer on fire', description: `pasted by mistake: ${key.secret}`, metadata: { password: 'hunter2', floor: 3 } },
    });
    assert.equal(created.status, 201, created.raw);
    const [event] = await waitForEvents(tenant.client, eventsUrl(tenant), 1);
    const url = `${eventsUrl(tenant)}/${event!.id}`;

    const detail = await tenant.client.get(url);
    assert.equal(detail.status, 200);
    assert.ok(!detail.raw.includes(key.secret), 'no secret in the payload');
    assert.ok(!detail.raw.includes('hunter2'), 'no password in the payload');
    const { payload, payload_expired, payload_expires_at, payload_note, ...fields } = detail.body;
    assert.deepEqual(fields, event, 'the same event object as the search');
    assert.deepEqual(payload.query, { source: ['crm'], access_token: '[REDACTED]' });
    assert.equal(payload.body.subject, 'Printer on fire');
    assert.equal(payload.body.description, 'pasted by mistake: [REDACTED]');
    assert.deepEqual(payload.body.metadata, { password: '[REDACTED]', floor: 3 });
    assert.deepEqual([payload_expired, payload_note], [false, null]);
    assert.equal(payload_expires_at, new Date(Date.parse(event!.created_at) + 7 * 86_400_000).toISOString());

    // Six days later it is still there; past seven it is not, whether or not retention has purged it yet.
    h.clock.advance(6 * 86_400);
    try {
      assert.notEqual((await tenant.client.get(url)).body.payload, null);
      h.clock.advance(86_400 + 60);
      // Sessions last 7 days on the same clock: sign in again as the owner would.
      const owner = await signIn(h, tenant.email);
      const later = await owner.get(url);
      assert.equal(later.status, 200);
      assert.deepEqual([later.body.payload, later.body.payload_expired], [null, true]);
      assert.equal(later.body.payload_note, 'Payloads are kept 7 days; this event is older.');
      assert.equal(later.body.id, event!.id);
    } finally {
      h.clock.advance(-(7 * 86_400 + 60));
    }

    // A call with neither query string nor body stores no payload row (modelled by removing it): a young
    // event then shows an empty payload, not an expired one.
    await h.db.deleteFrom('audit_payloads').where('event_id', '=', event!.id).execute();
    const empty = await tenant.client.get(url);
    assert.deepEqual([empty.status, empty.body.payload, empty.body.payload_expired, empty.body.payload_note], [200, { query: {}, body: null }, false, null]);
  });
});

interface ManagementEventJson {
  id: string;
  object: string;
  action: string;
  actor: { type: string; id: string; email: string | null } | null;
  target: { type: string; id: string } | null;
  details: Record<string, unknown>;
  [field: string]: unknown;
}

describeEachBackend('management log search', (harness) => {
  const managementUrl = (tenant: Tenant, query = '') => `/v1/workspaces/${tenant.workspaceId}/management-events${query ? `?${query}` : ''}`;
  const list = async (client: Client, url: string): Promise<ManagementEventJson[]> => {
    const reply = await client.get(url);
    assert.equal(reply.status, 200, reply.raw);
    return reply.body.data as ManagementEventJson[];
  };

  it('records who did what to which key, when and from where, and filters it', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const adminEmail = uniqueEmail('admin');
    const { client: admin } = await inviteAndJoin(h, tenant, adminEmail, 'admin');
    const adminId = (await admin.get('/v1/auth/me')).body.user.id as string;

    const key = (await createKey(tenant, { name: 'crm-sync' })).body;
    await tenant.client.patch(`${tenant.keys}/${key.id}`, { name: 'crm-sync-2' });
    await admin.post(`${tenant.keys}/${key.id}/rotate`, { overlap_seconds: 60 });
    const second = (await admin.post(tenant.keys, { name: 'warehouse', scopes: ['tickets:read'] })).body;
    await tenant.client.delete(`${tenant.keys}/${second.id}`);

    const all = await list(tenant.client, managementUrl(tenant, 'limit=100'));
    assert.deepEqual(ids(all), [...ids(all)].sort().reverse(), 'newest first');
    const keyActions = all.filter((e) => e.action.startsWith('api_key.')).map((e) => e.action);
    assert.deepEqual(keyActions, ['api_key.revoke', 'api_key.create', 'api_key.rotate', 'api_key.update', 'api_key.create']);

    const rotate = all.find((e) => e.action === 'api_key.rotate')!;
    assert.deepEqual(Object.keys(rotate).sort(), ['action', 'actor', 'created_at', 'details', 'id', 'object', 'on_behalf_of', 'request_id', 'source_ip', 'target', 'user_agent']);
    assert.match(rotate.id, /^mev_/);
    assert.deepEqual(
      { object: rotate.object, actor: rotate.actor, target: rotate.target, source_ip: rotate.source_ip, overlap: rotate.details.overlap_seconds },
      { object: 'management_event', actor: { type: 'user', id: adminId, email: adminEmail }, target: { type: 'api_key', id: key.id }, source_ip: '127.0.0.1', overlap: 60 },
    );
    assert.match(String(rotate.request_id), /^req_/);

    const actions = async (query: string) => (await list(tenant.client, managementUrl(tenant, query))).map((e) => e.action);
    assert.deepEqual(await actions('action=api_key.rotate'), ['api_key.rotate']);
    assert.deepEqual(await actions(`target_id=${key.id}`), ['api_key.rotate', 'api_key.update', 'api_key.create']);
    // The admin's own first act: joining by the invitation.
    assert.deepEqual(await actions(`actor_user_id=${adminId}`), ['api_key.create', 'api_key.rotate', 'member.joined']);
    assert.deepEqual(await actions(`actor_email=${encodeURIComponent(adminEmail.toUpperCase())}`), ['api_key.create', 'api_key.rotate', 'member.joined']);
    assert.deepEqual(await actions(`actor_user_id=${tenant.userId}&action=api_key.create`), ['api_key.create']);
    assert.deepEqual(await actions('action=api_key.nothing'), []);

    // Time: everything so far is before `to=now+1 min`, nothing from then on.
    const soon = new Date(Date.now() + 60_000).toISOString();
    assert.equal((await actions(`to=${soon}`)).length, all.length);
    assert.deepEqual(await actions(`from=${soon}`), []);
    assert.deepEqual(await actions(`from=${rotate.created_at}&action=api_key.update`), []);

    // Pages.
    const firstPage = await tenant.client.get(managementUrl(tenant, 'limit=2'));
    assert.deepEqual([firstPage.body.data.length, firstPage.body.has_more, firstPage.body.next_cursor], [2, true, all[1]!.id]);
    const secondPage = await tenant.client.get(managementUrl(tenant, `limit=2&cursor=${firstPage.body.next_cursor}`));
    assert.deepEqual(ids(secondPage.body.data), ids(all.slice(2, 4)));
  });

  it('shows only the workspace\'s own management events', async () => {
    const h = harness();
    const mine = await newTenant(h);
    const theirs = await newTenant(h);
    const theirKey = (await createKey(theirs)).body;
    assert.deepEqual(await list(mine.client, managementUrl(mine, `target_id=${theirKey.id}`)), []);
    assert.deepEqual(await list(mine.client, managementUrl(mine, `actor_user_id=${theirs.userId}`)), []);
    assert.ok((await list(theirs.client, managementUrl(theirs, `target_id=${theirKey.id}`))).length === 1);
  });
});
