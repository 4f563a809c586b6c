import assert from 'node:assert/strict';
import { it } from 'node:test';
import { retainAuditLog } from '../src/audit/retention.js';
import { generateSecret } from '../src/keys/key-format.js';
import { apiCall, atStartOfMinute, createKey, describeEachBackend, newTenant, type Harness, type Reply } from './harness.js';

/** The made-up-key budget of a source address per minute (src/app.ts). */
const BUDGET = 30;

async function eventsFrom(h: Harness, ip: string) {
  return h.db.selectFrom('audit_events').selectAll().where('source_ip', '=', ip).execute();
}

async function summaryFrom(h: Harness, ip: string) {
  return h.db.selectFrom('audit_unattributed').selectAll().where('source_ip', '=', ip).execute();
}

/** Until the writer has written (as events or as counts) every one of `calls` calls from `ip`. */
async function written(h: Harness, ip: string, calls: number) {
  for (let i = 0; i < 400; i++) {
    const events = await eventsFrom(h, ip);
    const summary = await summaryFrom(h, ip);
    if (events.length + summary.reduce((n, row) => n + row.requests, 0) >= calls) return { events, summary };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`the audit writer did not account for ${calls} calls from ${ip}`);
}

describeEachBackend('audit log: calls with no recognised key', (harness) => {
  it('keeps the first calls of an address as events, up to its failure budget, and counts the rest per minute', async () => {
    const h = harness();
    const restore = atStartOfMinute(h);
    try {
      const ip = '203.0.113.77';
      const flipped = generateSecret('lk', 'live').slice(0, -1) + '0';
      const garbage: Array<() => Promise<Reply>> = [
        () => apiCall(h, null, `/api/v1/nothing?x=${'a'.repeat(4000)}`, { ip }),
        () => apiCall(h, null, '/api/v1/ping', { ip }),
        () => apiCall(h, 'not-a-key', '/api/v1/tickets', { ip }),
        () => apiCall(h, flipped, '/api/v1/tickets', { ip }),
        () => apiCall(h, generateSecret('lk', 'live'), '/api/v1/nothing/else', { ip, method: 'POST', body: { a: 1 } }),
      ];
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++) statuses.push((await garbage[i % garbage.length]!()).status);
      assert.deepEqual(new Set(statuses.slice(0, BUDGET)), new Set([401, 404]));
      assert.deepEqual(statuses.slice(BUDGET), Array(200 - BUDGET).fill(429));

      const { events, summary } = await written(h, ip, 200);
      assert.ok(events.length <= BUDGET, `${events.length} events kept, at most the budget`);
      assert.ok(events.every((e) => e.workspace_id === null && e.key_id === null));
      assert.equal(summary.reduce((n, row) => n + row.requests, 0), 200 - events.length, 'the counts add up to the rest');
      assert.ok(summary.length <= 2, `one row per minute and error code: ${summary.length}`);
      for (const row of summary) {
        assert.equal(row.error_code, 'rate_limited');
        assert.match(row.sample_path, /^(GET|POST) \/api\/v1\//);
        assert.ok(row.sample_path.length <= 512);
      }
    } finally {
      restore();
    }
  });

  it("keeps every call of a recognised key, refused or not, even from an address past its budget", async () => {
    const h = harness();
    const restore = atStartOfMinute(h);
    try {
      const ip = '203.0.113.78';
      const tenant = await newTenant(h);
      const limited = (await createKey(tenant, { rate_limit: { per_minute: 3 } })).body;
      const dead = (await createKey(tenant)).body;
      await tenant.client.delete(`${tenant.keys}/${dead.id}`);
      // Both looked up once from elsewhere, as a fleet's instances would have.
      assert.equal((await apiCall(h, limited.secret, '/api/v1/ping', { ip: '192.0.2.1' })).status, 200);
      assert.equal((await apiCall(h, dead.secret, '/api/v1/ping', { ip: '192.0.2.1' })).status, 401);
      for (let i = 0; i < BUDGET + 10; i++) await apiCall(h, null, '/api/v1/ping', { ip });
      const codes: string[] = [];
      for (let i = 0; i < 5; i++) {
        codes.push((await apiCall(h, limited.secret, '/api/v1/nothing', { ip })).body.error.code);
        codes.push((await apiCall(h, dead.secret, '/api/v1/ping', { ip })).body.error.code);
      }
      assert.deepEqual(codes.sort(), [...Array(5).fill('api_key_revoked'), ...Array(2).fill('not_found'), ...Array(3).fill('rate_limited')]);
      const { events } = await written(h, ip, BUDGET + 10 + 10);
      const ofKeys = events.filter((e) => e.key_id !== null);
      assert.equal(ofKeys.length, 10, 'each call of a recognised key is an event');
      assert.ok(ofKeys.every((e) => e.workspace_id === tenant.workspaceId));
      assert.deepEqual(ofKeys.filter((e) => e.key_id === limited.id).map((e) => e.route), Array(5).fill('/api/*'));
    } finally {
      restore();
    }
  });

  it('answers an unknown route 404 with a key or without one, 401 with a key it does not know', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    const cases: Array<[string | null, string, number, string]> = [
      [null, 'GET', 404, 'not_found'],
      [null, 'DELETE', 404, 'not_found'],
      [key.secret, 'GET', 404, 'not_found'],
      [key.secret, 'PATCH', 404, 'not_found'],
      [generateSecret('lk', 'live'), 'GET', 401, 'invalid_api_key'],
      ['nope', 'POST', 401, 'invalid_api_key'],
    ];
    for (const [secret, method, status, code] of cases) {
      const reply = await apiCall(h, secret, '/api/v1/no/such/route', { ip: '192.0.2.99', method: method as 'GET' });
      assert.deepEqual([reply.status, reply.body.error.code], [status, code], `${method} with ${secret?.slice(0, 8) ?? 'no key'}`);
    }
    // The body of an unknown route is never read: a large one still answers 404, not 413.
    const large = await apiCall(h, key.secret, '/api/v1/no/such/route', { ip: '192.0.2.99', method: 'POST', body: { junk: 'x'.repeat(200 * 1024) } });
    assert.deepEqual([large.status, large.body.error.code], [404, 'not_found']);
    const echoed = await apiCall(h, key.secret, `/api/v1/contacts/x/${key.secret}`, { ip: '192.0.2.99' });
    assert.equal(echoed.status, 404);
    assert.ok(!echoed.raw.includes(key.secret.slice(12)), `the key is not echoed: ${echoed.body.error.message}`);
    const openapi = await h.app.inject({ url: '/openapi.json' });
    assert.ok(!openapi.body.includes('/api/*'), 'the catch-all is not documented');
  });

  it('trims the counts with the rest of the audit log', async () => {
    const h = harness();
    const now = h.clock.now;
    const old = new Date(now.getTime() - 100 * 86_400_000);
    const recent = new Date(now.getTime() - 86_400_000);
    for (const minute of [old, recent]) {
      await h.db.insertInto('audit_unattributed').values({ minute, source_ip: '192.0.2.200', error_code: 'rate_limited', requests: 5, sample_path: 'GET /api/v1/x' }).execute();
    }
    await retainAuditLog({ db: h.db, now: () => now, retentionDays: 90, payloadDays: 7 });
    const left = await summaryFrom(h, '192.0.2.200');
    assert.deepEqual(left.map((r) => r.minute.getTime()), [recent.getTime()]);
  });
});
