import assert from 'node:assert/strict';
import { it } from 'node:test';
import { verifyWebhook } from '../packages/sdk/src/webhook.js';
import { CAPABILITIES } from '../src/embed/capabilities.js';
import { SECRET_OVERLAP_MS, signatureHeader } from '../src/events/signing.js';
import { newId } from '../src/ids.js';
import { PERMISSIONS } from '../src/service-keys/permissions.js';
import { Client, createKey, describeEachBackend, newTenant, serviceClient, uniqueEmail, type Harness, type Reply, type Tenant } from './harness.js';
import { inviteAndJoin } from './invite.js';

/** The events API (src/events/endpoints-*.ts): a workspace's and the installation's endpoints, their secrets and deliveries. */

const endpointsOf = (tenant: Tenant) => `/v1/workspaces/${tenant.workspaceId}/event-endpoints`;

async function addEndpoint(tenant: Tenant, fields: Record<string, unknown> = {}): Promise<Reply> {
  const reply = await tenant.client.post(endpointsOf(tenant), { url: 'https://hooks.example.com/latchkey', events: ['api_key.created'], ...fields });
  assert.equal(reply.status, 201, reply.raw);
  return reply;
}

function assertError(reply: Reply, status: number, code: string, param?: string): void {
  assert.equal(reply.status, status, reply.raw);
  assert.equal(reply.body.error.code, code, reply.raw);
  if (param !== undefined) assert.equal(reply.body.error.param, param, reply.raw);
}

/** The secrets that sign an endpoint's deliveries now, oldest first: what the worker reads. */
async function signingSecrets(h: Harness, endpointId: string): Promise<string[]> {
  const rows = await h.db.selectFrom('event_endpoint_secrets').select(['secret', 'expires_at']).where('endpoint_id', '=', endpointId).orderBy('created_at').orderBy('id').execute();
  const now = h.clock.now;
  return rows.filter((row) => row.expires_at === null || row.expires_at > now).map((row) => row.secret);
}

describeEachBackend('events API: endpoints', (harness) => {
  it('adds, reads, lists, changes and deletes a workspace endpoint; the secret is in the create answer only', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const created = await addEndpoint(tenant, { events: ['api_key.created', 'api_key.revoked', 'api_key.created'], description: 'CRM sync' });
    const endpoint = created.body;
    assert.match(endpoint.id, /^whe_/);
    assert.match(endpoint.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(
      { ...endpoint, id: undefined, secret: undefined, created_at: undefined, updated_at: undefined },
      {
        object: 'event_endpoint',
        id: undefined,
        secret: undefined,
        workspace_id: tenant.workspaceId,
        url: 'https://hooks.example.com/latchkey',
        events: ['api_key.created', 'api_key.revoked'],
        description: 'CRM sync',
        enabled: true,
        disabled_at: null,
        disabled_reason: null,
        secret_rotation_ends_at: null,
        created_at: undefined,
        updated_at: undefined,
      },
    );

    const got = await tenant.client.get(`${endpointsOf(tenant)}/${endpoint.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.secret, undefined, 'never the secret again');
    const { secret: _secret, ...withoutSecret } = endpoint;
    assert.deepEqual(got.body, withoutSecret, 'the same object without its secret');

    const second = await addEndpoint(tenant, { events: ['*'] });
    const list = await tenant.client.get(`${endpointsOf(tenant)}?limit=1`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.data.map((e: { id: string }) => e.id), [second.body.id], 'newest first');
    assert.equal(list.body.has_more, true);
    const rest = await tenant.client.get(`${endpointsOf(tenant)}?limit=1&cursor=${list.body.next_cursor}`);
    assert.deepEqual(rest.body.data.map((e: { id: string }) => e.id), [endpoint.id]);
    assert.ok(!list.raw.includes('whsec_') && !rest.raw.includes('whsec_'));

    const patched = await tenant.client.patch(`${endpointsOf(tenant)}/${endpoint.id}`, { url: 'https://hooks.example.com/v2', events: ['*'], description: null, enabled: false });
    assert.equal(patched.status, 200, patched.raw);
    assert.deepEqual([patched.body.url, patched.body.events, patched.body.description, patched.body.enabled], ['https://hooks.example.com/v2', ['*'], null, false]);

    // The worker disabled it (helper A's code sets these); re-enabling clears why.
    await h.db.updateTable('event_endpoints').set({ enabled: false, disabled_at: new Date(), disabled_reason: 'failing for 3 days' }).where('id', '=', endpoint.id).execute();
    const disabled = await tenant.client.get(`${endpointsOf(tenant)}/${endpoint.id}`);
    assert.equal(disabled.body.disabled_reason, 'failing for 3 days');
    const enabled = await tenant.client.patch(`${endpointsOf(tenant)}/${endpoint.id}`, { enabled: true });
    assert.deepEqual([enabled.body.enabled, enabled.body.disabled_at, enabled.body.disabled_reason], [true, null, null]);

    await createKey(tenant);
    const pending = await h.db.selectFrom('event_deliveries').select('id').where('endpoint_id', '=', endpoint.id).execute();
    assert.equal(pending.length, 1, 'the key created made a delivery to the endpoint');
    const deleted = await tenant.client.delete(`${endpointsOf(tenant)}/${endpoint.id}`);
    assert.equal(deleted.status, 204, deleted.raw);
    assertError(await tenant.client.get(`${endpointsOf(tenant)}/${endpoint.id}`), 404, 'not_found');
    assertError(await tenant.client.delete(`${endpointsOf(tenant)}/${endpoint.id}`), 404, 'not_found');
    assert.equal((await h.db.selectFrom('event_deliveries').select('id').where('endpoint_id', '=', endpoint.id).execute()).length, 0, 'its deliveries went with it');
    assert.equal((await h.db.selectFrom('event_endpoint_secrets').select('id').where('endpoint_id', '=', endpoint.id).execute()).length, 0, 'and its secrets');

    const actions = await h.db.selectFrom('management_events').select(['action', 'target_id', 'details']).where('workspace_id', '=', tenant.workspaceId).where('target_type', '=', 'event_endpoint').orderBy('created_at').orderBy('id').execute();
    assert.deepEqual(
      actions.filter((a) => a.target_id === endpoint.id).map((a) => a.action),
      ['event_endpoint.create', 'event_endpoint.update', 'event_endpoint.update', 'event_endpoint.delete'],
    );
  });

  it('never shows or stores a secret anywhere but the secrets table: not in reads, lists, the management log, events or logs', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const created = await addEndpoint(tenant, { url: 'https://hooks.example.com/in?token=abc123', events: ['*'] });
    const rotated = await tenant.client.post(`${endpointsOf(tenant)}/${created.body.id}/rotate-secret`);
    assert.equal(rotated.status, 200, rotated.raw);
    await tenant.client.post(`${endpointsOf(tenant)}/${created.body.id}/test`);
    await createKey(tenant);
    const secrets = [created.body.secret as string, rotated.body.secret as string];
    assert.notEqual(secrets[0], secrets[1]);
    const reads = [
      await tenant.client.get(`${endpointsOf(tenant)}/${created.body.id}`),
      await tenant.client.get(endpointsOf(tenant)),
      await tenant.client.get(`${endpointsOf(tenant)}/${created.body.id}/deliveries`),
      await tenant.client.get(`/v1/workspaces/${tenant.workspaceId}/management-events`),
    ];
    const managementLog = await h.db.selectFrom('management_events').select('details').where('workspace_id', '=', tenant.workspaceId).execute();
    const events = await h.db.selectFrom('events').select('body').where('workspace_id', '=', tenant.workspaceId).execute();
    assert.ok(events.length >= 2);
    const everywhere = [...reads.map((r) => r.raw), ...managementLog.map((m) => JSON.stringify(m.details)), ...events.map((e) => e.body), ...h.logs];
    for (const secret of secrets) {
      for (const text of everywhere) assert.ok(!text.includes(secret.slice(6)), 'a secret leaked');
    }
    const logged = managementLog.map((m) => JSON.stringify(m.details)).find((d) => d.includes('hooks.example.com/in'));
    assert.ok(logged && !logged.includes('abc123'), 'the management log keeps the URL without its query');
  });

  it('rotating gives a new secret; both sign until 24 h later, then only the new one; a second rotation ends the older at once', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const endpoint = (await addEndpoint(tenant)).body;
    const first = endpoint.secret as string;
    const before = h.clock.now.getTime();
    const rotated = await tenant.client.post(`${endpointsOf(tenant)}/${endpoint.id}/rotate-secret`);
    assert.equal(rotated.status, 200, rotated.raw);
    const second = rotated.body.secret as string;
    assert.match(second, /^whsec_/);
    const ends = Date.parse(rotated.body.secret_rotation_ends_at);
    assert.ok(ends >= before + SECRET_OVERLAP_MS && ends <= h.clock.now.getTime() + SECRET_OVERLAP_MS, rotated.body.secret_rotation_ends_at);
    assert.equal((await tenant.client.get(`${endpointsOf(tenant)}/${endpoint.id}`)).body.secret_rotation_ends_at, rotated.body.secret_rotation_ends_at);

    const signing = await signingSecrets(h, endpoint.id);
    assert.deepEqual(signing, [first, second], 'both secrets sign during the overlap');
    // A receiver holding either secret accepts a delivery signed as the worker signs it.
    const body = JSON.stringify({ id: 'evt_x', type: 'latchkey.test', data: {} });
    const t = Math.floor(h.clock.now.getTime() / 1000);
    const header = signatureHeader(body, signing, t);
    assert.equal(header.split(',v1=').length, 3, 'v1= twice');
    for (const secret of [first, second]) assert.doesNotThrow(() => verifyWebhook(body, header, secret, { now: () => h.clock.now }));

    h.clock.advance(SECRET_OVERLAP_MS / 1000 + 1);
    try {
      assert.deepEqual(await signingSecrets(h, endpoint.id), [second], 'past the overlap, only the new secret signs');
      assert.equal((await tenant.client.get(`${endpointsOf(tenant)}/${endpoint.id}`)).body.secret_rotation_ends_at, null);
      const third = (await tenant.client.post(`${endpointsOf(tenant)}/${endpoint.id}/rotate-secret`)).body.secret as string;
      const fourth = (await tenant.client.post(`${endpointsOf(tenant)}/${endpoint.id}/rotate-secret`)).body.secret as string;
      assert.deepEqual(await signingSecrets(h, endpoint.id), [third, fourth], 'a rotation during an overlap ends the oldest at once: two secrets at most');
    } finally {
      h.clock.advance(-(SECRET_OVERLAP_MS / 1000 + 1));
    }
  });

  it('a test event is a latchkey.test event delivered to that endpoint only, whatever it subscribes to', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const endpoint = (await addEndpoint(tenant, { events: ['member.added'] })).body;
    const other = (await addEndpoint(tenant, { events: ['*'] })).body;
    const installation = await (await serviceClient(h, ['events:manage'])).post('/v1/event-endpoints', { url: 'https://hooks.example.com/all', events: ['*'] });
    assert.equal(installation.status, 201, installation.raw);

    const sent = await tenant.client.post(`${endpointsOf(tenant)}/${endpoint.id}/test`);
    assert.equal(sent.status, 202, sent.raw);
    assert.match(sent.body.id, /^evd_/);
    assert.deepEqual([sent.body.object, sent.body.endpoint_id, sent.body.event.type, sent.body.status, sent.body.attempts], ['event_delivery', endpoint.id, 'latchkey.test', 'pending', 0]);
    assert.ok(sent.body.next_attempt_at);
    const event = await h.db.selectFrom('events').selectAll().where('id', '=', sent.body.event.id).executeTakeFirstOrThrow();
    const body = JSON.parse(event.body);
    assert.equal(body.type, 'latchkey.test');
    assert.deepEqual(body.workspace, { id: tenant.workspaceId, external_id: null });
    assert.equal(typeof body.data.message, 'string');
    const deliveries = await h.db.selectFrom('event_deliveries').select('endpoint_id').where('event_id', '=', event.id).execute();
    assert.deepEqual(deliveries.map((d) => d.endpoint_id), [endpoint.id], `not to ${other.id} nor the installation's`);
  });

  it('lists deliveries newest first with their attempts, filters by status, and retries one (due now, sent again)', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const endpoint = (await addEndpoint(tenant, { events: ['api_key.created'] })).body;
    await createKey(tenant, { name: 'first' });
    await createKey(tenant, { name: 'second' });
    const base = `${endpointsOf(tenant)}/${endpoint.id}/deliveries`;
    const all = await tenant.client.get(base);
    assert.equal(all.status, 200, all.raw);
    assert.equal(all.body.data.length, 2);
    const [newest, oldest] = all.body.data;
    assert.ok(newest.id > oldest.id, 'newest first');
    assert.equal(newest.event.type, 'api_key.created');
    assert.deepEqual(newest.attempt_log, []);

    // As the worker records a failed try (its code is helper A's): the attempt and the delivery's state.
    const tried = new Date(h.clock.now.getTime() - 60_000);
    await h.db
      .insertInto('event_delivery_attempts')
      .values([
        { id: newId('eva'), delivery_id: oldest.id, started_at: tried, duration_ms: 12, status_code: 500, error: null, response_excerpt: 'boom' },
        { id: newId('eva'), delivery_id: oldest.id, started_at: new Date(tried.getTime() + 1000), duration_ms: 10_000, status_code: null, error: 'timeout', response_excerpt: null },
      ])
      .execute();
    await h.db.updateTable('event_deliveries').set({ status: 'failed', attempts: 2, last_attempt_at: tried, last_status_code: null, last_error: 'timeout' }).where('id', '=', oldest.id).execute();

    const failed = await tenant.client.get(`${base}?status=failed`);
    assert.deepEqual(failed.body.data.map((d: { id: string }) => d.id), [oldest.id]);
    const shown = failed.body.data[0];
    assert.deepEqual([shown.status, shown.attempts, shown.next_attempt_at, shown.last_error], ['failed', 2, null, 'timeout']);
    assert.deepEqual(
      shown.attempt_log.map((a: { status_code: number | null; error: string | null; response_excerpt: string | null }) => [a.status_code, a.error, a.response_excerpt]),
      [[500, null, 'boom'], [null, 'timeout', null]],
      'oldest attempt first',
    );
    const page = await tenant.client.get(`${base}?limit=1`);
    assert.deepEqual([page.body.data[0].id, page.body.has_more, page.body.next_cursor], [newest.id, true, newest.id]);

    const retried = await tenant.client.post(`${base}/${oldest.id}/retry`);
    assert.equal(retried.status, 200, retried.raw);
    assert.equal(retried.body.status, 'pending');
    assert.equal(retried.body.attempt_log.length, 2, 'the retry answer shows the attempts so far');
    assert.ok(Date.parse(retried.body.next_attempt_at) <= h.clock.now.getTime(), 'due now');
    assert.deepEqual((await tenant.client.get(`${base}?status=failed`)).body.data, []);
    assert.equal((await tenant.client.get(`${base}?status=pending`)).body.data.length, 2);
    const logged = await h.db.selectFrom('management_events').select('details').where('action', '=', 'event_endpoint.delivery_retry').where('target_id', '=', endpoint.id).executeTakeFirstOrThrow();
    assert.equal((logged.details as { delivery_id: string }).delivery_id, oldest.id);

    assertError(await tenant.client.post(`${base}/${newId('evd')}/retry`), 404, 'not_found');
    assertError(await tenant.client.get(`${base}?status=lost`), 400, 'invalid_request', 'status');
  });

  it('refuses what it cannot deliver, naming the field', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const add = (body: Record<string, unknown>) => tenant.client.post(endpointsOf(tenant), { url: 'https://hooks.example.com/x', events: ['api_key.created'], ...body });
    assertError(await add({ url: 'http://hooks.example.com/x' }), 400, 'invalid_request', 'url');
    assert.match((await add({ url: 'http://hooks.example.com/x' })).body.error.message, /^url must be an https URL/);
    for (const url of ['https://127.0.0.1/x', 'https://169.254.169.254/latest', 'https://[::1]/', 'https://localhost/x', 'ftp://hooks.example.com', 'https://u:p@hooks.example.com/', 'not a url', 'x'.repeat(2049)]) {
      assertError(await add({ url }), 400, 'invalid_request', 'url');
    }
    assertError(await add({ events: [] }), 400, 'invalid_request', 'events');
    assertError(await add({ events: ['api_key.exploded'] }), 400, 'invalid_request', 'events');
    assertError(await add({ events: ['ticket.created'] }), 400, 'invalid_request', 'events');
    assertError(await add({ events: ['*', 'api_key.created'] }), 400, 'invalid_request', 'events');
    assertError(await add({ events: 'api_key.created' }), 400, 'invalid_request', 'events');
    assertError(await add({ description: 'd'.repeat(501) }), 400, 'invalid_request', 'description');
    assertError(await add({ secret: 'whsec_mine' }), 400, 'invalid_request', 'secret');
    assert.equal((await add({ description: 'd'.repeat(500) })).status, 201);
    const endpoint = (await addEndpoint(tenant)).body;
    assertError(await tenant.client.patch(`${endpointsOf(tenant)}/${endpoint.id}`, { url: 'https://10.0.0.1/' }), 400, 'invalid_request', 'url');
    assertError(await tenant.client.patch(`${endpointsOf(tenant)}/${endpoint.id}`, { events: [] }), 400, 'invalid_request', 'events');
    assertError(await tenant.client.get(`${endpointsOf(tenant)}/whe_nope`), 404, 'not_found');
  });

  it('is for the workspace’s Owners and Admins, service keys with events:manage, never embedded sessions; another workspace’s endpoint is not found', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const endpoint = (await addEndpoint(tenant)).body;
    const item = `${endpointsOf(tenant)}/${endpoint.id}`;

    const admin = await inviteAndJoin(h, tenant, uniqueEmail('admin'), 'admin');
    assert.equal((await admin.client.get(item)).status, 200);
    const member = await inviteAndJoin(h, tenant, uniqueEmail('member'), 'member');
    assertError(await member.client.get(endpointsOf(tenant)), 403, 'insufficient_role');
    assertError(await member.client.post(`${item}/rotate-secret`), 403, 'insufficient_role');

    const stranger = await newTenant(h);
    assertError(await stranger.client.get(item), 404, 'not_found');
    // Their own workspace's path with this endpoint's id: not theirs, not found.
    assertError(await stranger.client.get(`${endpointsOf(stranger)}/${endpoint.id}`), 404, 'not_found');
    assertError(await stranger.client.delete(`${endpointsOf(stranger)}/${endpoint.id}`), 404, 'not_found');
    assert.equal((await tenant.client.get(item)).status, 200, 'still there');

    const manager = await serviceClient(h, ['events:manage']);
    const made = await manager.post(endpointsOf(tenant), { url: 'https://hooks.example.com/svc', events: ['*'] });
    assert.equal(made.status, 201, made.raw);
    const row = await h.db.selectFrom('management_events').select(['actor_service_key_id']).where('target_id', '=', made.body.id).executeTakeFirstOrThrow();
    assert.equal(row.actor_service_key_id, manager.serviceKeyId);
    const without = await serviceClient(h, PERMISSIONS.filter((p) => p !== 'events:manage'));
    assertError(await without.get(endpointsOf(tenant)), 403, 'insufficient_permission', 'events:manage');
    const limitedElsewhere = await serviceClient(h, ['events:manage'], [stranger.workspaceId]);
    assertError(await limitedElsewhere.get(item), 404, 'not_found');

    // An embedded session (every capability) is refused here: events are not part of embedded key management.
    const backend = await serviceClient(h);
    const link = await backend.post('/v1/embed/sessions', { workspace_id: tenant.workspaceId, user: { external_id: 'u-1' }, capabilities: [...CAPABILITIES] });
    assert.equal(link.status, 201, link.raw);
    const code = /#code=([A-Za-z0-9_-]+)$/.exec(link.body.url)?.[1];
    const opened = await new Client(h.app).post('/v1/embed/exchange', { code });
    assert.equal(opened.status, 200, opened.raw);
    const embedded = new Client(h.app);
    embedded.bearer = opened.body.token;
    assertError(await embedded.get(endpointsOf(tenant)), 403, 'insufficient_permission');
    assertError(await embedded.post(endpointsOf(tenant), { url: 'https://hooks.example.com/e', events: ['*'] }), 403, 'insufficient_permission');
  });

  it('installation endpoints: an unlimited service key with events:manage manages them, and they receive every workspace’s events', async () => {
    const h = harness();
    const manager = await serviceClient(h, ['events:manage']);
    const created = await manager.post('/v1/event-endpoints', { url: 'https://hooks.example.com/installation', events: ['api_key.created'], description: 'SIEM' });
    assert.equal(created.status, 201, created.raw);
    assert.equal(created.body.workspace_id, null);
    assert.match(created.body.secret, /^whsec_/);
    const row = await h.db.selectFrom('event_endpoints').select(['audience', 'service_key_id']).where('id', '=', created.body.id).executeTakeFirstOrThrow();
    assert.deepEqual(row, { audience: 'installation', service_key_id: manager.serviceKeyId });
    const item = `/v1/event-endpoints/${created.body.id}`;
    assert.equal((await manager.get(item)).body.secret, undefined);
    assert.ok((await manager.get('/v1/event-endpoints?limit=100')).body.data.some((e: { id: string }) => e.id === created.body.id));

    const a = await newTenant(h);
    const b = await newTenant(h);
    await createKey(a);
    await createKey(b);
    const deliveries = await manager.get(`${item}/deliveries`);
    assert.equal(deliveries.status, 200, deliveries.raw);
    assert.equal(deliveries.body.data.length, 2, 'one api_key.created from each workspace');
    assert.equal((await manager.post(`${item}/test`)).status, 202);
    assert.equal((await manager.post(`${item}/rotate-secret`)).status, 200);
    assert.equal((await manager.patch(item, { enabled: false })).body.enabled, false);
    const logged = await h.db.selectFrom('management_events').select(['action', 'workspace_id']).where('target_id', '=', created.body.id).orderBy('created_at').orderBy('id').execute();
    assert.deepEqual(logged.map((l) => [l.action, l.workspace_id]), [
      ['event_endpoint.create', null],
      ['event_endpoint.test', null],
      ['event_endpoint.rotate_secret', null],
      ['event_endpoint.update', null],
    ]);

    // A workspace's own endpoint is not an installation endpoint, and the other way round.
    const own = (await addEndpoint(a)).body;
    assertError(await manager.get(`/v1/event-endpoints/${own.id}`), 404, 'not_found');
    assertError(await a.client.get(`${endpointsOf(a)}/${created.body.id}`), 404, 'not_found');

    const limited = await serviceClient(h, ['events:manage'], [a.workspaceId]);
    const refused = await limited.get('/v1/event-endpoints');
    assertError(refused, 403, 'insufficient_permission');
    assert.match(refused.body.error.message, /not limited to some workspaces/);
    assertError(await limited.post('/v1/event-endpoints', { url: 'https://hooks.example.com/x', events: ['*'] }), 403, 'insufficient_permission');
    assertError(await (await serviceClient(h, ['keys:write'])).get('/v1/event-endpoints'), 403, 'insufficient_permission', 'events:manage');
    // People manage their workspace's endpoints, never the installation's.
    assertError(await a.client.get('/v1/event-endpoints'), 401, 'not_authenticated');

    assert.equal((await manager.delete(item)).status, 204);
    assertError(await manager.get(item), 404, 'not_found');
  });
});

describeEachBackend(
  'events API with EVENTS_ALLOW_PRIVATE_NETWORKS=true',
  (harness) => {
    it('accepts http and private hosts (tests, private deployments), still checking the URL’s shape', async () => {
      const h = harness();
      const tenant = await newTenant(h);
      for (const url of ['http://127.0.0.1:8080/hook', 'http://receiver.internal/in', 'https://10.0.0.5/x']) {
        const reply = await tenant.client.post(endpointsOf(tenant), { url, events: ['*'] });
        assert.equal(reply.status, 201, `${url}: ${reply.raw}`);
      }
      for (const url of ['ftp://127.0.0.1/', 'http://u:p@127.0.0.1/', 'http://127.0.0.1/\u0000']) {
        assertError(await tenant.client.post(endpointsOf(tenant), { url, events: ['*'] }), 400, 'invalid_request', 'url');
      }
    });
  },
  { env: { EVENTS_ALLOW_PRIVATE_NETWORKS: 'true' } },
);
