import assert from 'node:assert/strict';
import { it } from 'node:test';
import { generateSecret } from '../src/keys/key-format.js';
import { apiCall, atStartOfMinute, createKey, describeEachBackend, newTenant, PASSWORD, type Harness, type Reply } from './harness.js';

/** The event of one answered request, once the batched writer has written it. */
async function eventOf(h: Harness, reply: Reply) {
  const requestId = String(reply.headers['request-id']);
  for (let i = 0; i < 200; i++) {
    const row = await h.db.selectFrom('audit_events').selectAll().where('request_id', '=', requestId).executeTakeFirst();
    if (row) return row;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`no audit event for ${requestId}`);
}

async function payloadOf(h: Harness, eventId: string) {
  const row = await h.db.selectFrom('audit_payloads').select('payload').where('event_id', '=', eventId).executeTakeFirst();
  return row?.payload;
}

describeEachBackend('audit log: one event per call', (harness) => {
  it('records an answered call with every field', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { name: 'qa-ingest', scopes: ['tickets:read', 'tickets:write'], mode: 'test' })).body;
    const reply = await apiCall(h, key.secret, '/api/v1/tickets?limit=5', { ip: '192.0.2.10', headers: { 'user-agent': 'crm-sync/1.0' } });
    assert.equal(reply.status, 200);
    const event = await eventOf(h, reply);
    assert.deepEqual(
      {
        workspace_id: event.workspace_id,
        mode: event.mode,
        key_id: event.key_id,
        key_name: event.key_name,
        secret_version: event.secret_version,
        method: event.method,
        route: event.route,
        path: event.path,
        status: event.status,
        source_ip: event.source_ip,
        user_agent: event.user_agent,
        error_code: event.error_code,
        scope: event.scope,
      },
      {
        workspace_id: tenant.workspaceId,
        mode: 'test',
        key_id: key.id,
        key_name: 'qa-ingest',
        secret_version: 1,
        method: 'GET',
        route: '/api/v1/tickets',
        path: '/api/v1/tickets',
        status: 200,
        source_ip: '192.0.2.10',
        user_agent: 'crm-sync/1.0',
        error_code: null,
        scope: 'tickets:read',
      },
    );
    assert.match(event.id, /^evt_/);
    assert.ok(event.latency_ms >= 0 && event.latency_ms < 10_000);
    assert.ok(Math.abs(event.created_at.getTime() - h.clock.now.getTime()) < 60_000);
    assert.match(event.argument_hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(await payloadOf(h, event.id), { query: { limit: ['5'] }, body: null });
  });

  it('keeps the key name as it was at the time of the call', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { name: 'before' })).body;
    const first = await apiCall(h, key.secret, '/api/v1/ping');
    await tenant.client.patch(`${tenant.keys}/${key.id}`, { name: 'after' });
    const second = await apiCall(h, key.secret, '/api/v1/ping');
    assert.equal((await eventOf(h, first)).key_name, 'before');
    assert.equal((await eventOf(h, second)).key_name, 'after');
  });

  it('records every refusal path with its status and error code', async () => {
    const h = harness();
    const restore = atStartOfMinute(h);
    try {
      const tenant = await newTenant(h);
      const key = (await createKey(tenant, { scopes: ['tickets:read'], rate_limit: { per_minute: 1 } })).body;
      const walled = (await createKey(tenant, { ip_allowlist: ['203.0.113.1'] })).body;
      const revoked = (await createKey(tenant)).body;
      await tenant.client.delete(`${tenant.keys}/${revoked.id}`);
      const rotated = (await createKey(tenant)).body;
      await tenant.client.post(`${tenant.keys}/${rotated.id}/rotate`, { overlap_seconds: 0 });

      const cases: Array<[Promise<Reply>, number, string | null, string | null]> = [
        [apiCall(h, null, '/api/v1/tickets'), 401, 'missing_api_key', null],
        [apiCall(h, 'lk_live_nope', '/api/v1/tickets'), 401, 'invalid_api_key', null],
        [apiCall(h, generateSecret('lk', 'live'), '/api/v1/tickets'), 401, 'invalid_api_key', null],
        [apiCall(h, revoked.secret, '/api/v1/tickets'), 401, 'api_key_revoked', revoked.id],
        [apiCall(h, rotated.secret, '/api/v1/tickets'), 401, 'api_key_expired', rotated.id],
        [apiCall(h, walled.secret, '/api/v1/ping', { ip: '198.51.100.1' }), 403, 'ip_not_allowed', walled.id],
        [apiCall(h, key.secret, '/api/v1/contacts'), 403, 'insufficient_scope', key.id],
      ];
      for (const [call, status, code, keyId] of cases) {
        const reply = await call;
        assert.equal(reply.status, status, reply.raw);
        const event = await eventOf(h, reply);
        assert.deepEqual([event.status, event.error_code, event.key_id], [status, code, keyId]);
        if (keyId) assert.equal(event.workspace_id, tenant.workspaceId);
      }
      const limited = await apiCall(h, key.secret, '/api/v1/tickets');
      assert.equal(limited.status, 429);
      assert.deepEqual([(await eventOf(h, limited)).error_code, (await eventOf(h, limited)).key_id], ['rate_limited', key.id]);
      // An unknown route is verified like any other: the call is the key's, in its workspace's log.
      const unknown = await apiCall(h, walled.secret, '/api/v1/nothing-here', { ip: '203.0.113.1' });
      assert.deepEqual([(await eventOf(h, unknown)).status, (await eventOf(h, unknown)).key_id], [404, walled.id]);
    } finally {
      restore();
    }
  });

  it('records a refused body with the field named, and the same request always hashes the same', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { scopes: ['tickets:write'] })).body;
    const send = (body: unknown) => apiCall(h, key.secret, '/api/v1/tickets', { method: 'POST', body });
    const a = await eventOf(h, await send({ subject: 'Printer on fire', priority: 'high' }));
    const b = await eventOf(h, await send({ priority: 'high', subject: 'Printer on fire' }));
    const c = await eventOf(h, await send({ subject: 'Printer on fire!', priority: 'high' }));
    assert.equal(a.argument_hash, b.argument_hash, 'field order does not change the hash');
    assert.notEqual(a.argument_hash, c.argument_hash);
    const invalid = await send({ subject: 42 });
    assert.equal(invalid.status, 400);
    assert.equal((await eventOf(h, invalid)).error_code, 'invalid_request');
  });

  it('stores no key, password or token in any payload', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { scopes: ['contacts:write'] })).body;
    const leaked = (await createKey(tenant)).body.secret as string;
    const reply = await apiCall(h, key.secret, `/api/v1/contacts?api_key=${leaked}&token=abc123token`, {
      method: 'POST',
      body: { email: 'ada@example.com', name: 'Ada', metadata: { password: PASSWORD, note: `key ${leaked} and ${key.secret}`, auth_token: 'tok_live_zzz' } },
    });
    const event = await eventOf(h, reply);
    const stored = JSON.stringify(await payloadOf(h, event.id));
    assert.ok(stored.includes('ada@example.com'), 'the payload is there');
    for (const secret of [leaked, key.secret, PASSWORD, 'abc123token', 'tok_live_zzz']) assert.ok(!stored.includes(secret), `no ${secret.slice(0, 12)}…`);
    const everything = JSON.stringify(await h.db.selectFrom('audit_events').selectAll().where('workspace_id', '=', tenant.workspaceId).execute());
    for (const secret of [leaked, key.secret]) assert.ok(!everything.includes(secret.slice(12)));
    const logs = h.logs.join('');
    assert.ok(logs.includes('/api/v1/contacts?api_key='), 'the call was logged');
    for (const secret of [leaked, key.secret, 'abc123token']) assert.ok(!logs.includes(secret), 'no credential in the logs');
  });
});
