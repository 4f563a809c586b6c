import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { runDetectorOnce } from '../src/anomalies/detector.js';
import { HOUR_MS, floorHour } from '../src/audit/hours.js';
import { newId } from '../src/ids.js';
import { createKey, describeEachBackend, newTenant, serviceClient, uniqueEmail, type Harness, type Reply, type Tenant } from './harness.js';
import { inviteAndJoin } from './invite.js';

/**
 * Stored anomaly findings (src/anomalies/): the detector stores each once and announces it once, however
 * many passes see it and however many run at once; people acknowledge, resolve and reopen them.
 */

const detector = (h: Harness) => ({ db: h.db, now: () => h.clock.now });
/** A pass over the last day, queued behind any other (the app's own detector may be running one). */
const detect = (h: Harness) => runDetectorOnce(detector(h), { windowHours: 24, wait: true });
const anomaliesOf = (tenant: Tenant, query = '') => tenant.client.get(`/v1/workspaces/${tenant.workspaceId}/anomalies${query}`);
const patch = (tenant: Tenant, id: string, status: string) => tenant.client.patch(`/v1/workspaces/${tenant.workspaceId}/anomalies/${id}`, { status });

/** An hour `ago` hours before the current one in which the key got `errors` 403s: an error burst once there are 20. */
async function burst(h: Harness, tenant: Tenant, keyId: string, ago: number, errors: number): Promise<Date> {
  const hour = new Date(floorHour(h.clock.now).getTime() - ago * HOUR_MS);
  await h.db
    .insertInto('audit_usage_hourly')
    .values({ workspace_id: tenant.workspaceId, key_id: keyId, hour, route: '/api/v1/tickets', status: 403, error_code: 'insufficient_scope', scope_used: '', requests: errors })
    .onConflict((oc) => oc.columns(['key_id', 'hour', 'route', 'status', 'error_code', 'scope_used']).doUpdateSet({ requests: sql`audit_usage_hourly.requests + excluded.requests` }))
    .execute();
  return hour;
}

async function announced(h: Harness, workspaceId: string) {
  const rows = await h.db.selectFrom('events').select(['id', 'body']).where('workspace_id', '=', workspaceId).where('type', '=', 'anomaly.detected').execute();
  return rows.map((r) => JSON.parse(r.body));
}

async function storedCount(h: Harness, workspaceId: string): Promise<number> {
  return (await h.db.selectFrom('anomaly_findings').select('id').where('workspace_id', '=', workspaceId).execute()).length;
}

/** A tenant with a key in an hour of a 403 burst two hours ago. */
async function withBurst(h: Harness) {
  const tenant = await newTenant(h);
  const key = (await createKey(tenant, { name: 'ticket-bot' })).body as { id: string; name: string; prefix: string };
  const hour = await burst(h, tenant, key.id, 2, 60);
  return { tenant, key, hour };
}

describeEachBackend('stored anomaly findings', (harness) => {
  it('stores a finding once, with its evidence and a stable id, and announces it once to the endpoints that want it', async () => {
    const h = harness();
    const { tenant, key, hour } = await withBurst(h);
    const endpoint = newId('whe');
    await h.db
      .insertInto('event_endpoints')
      .values({ id: endpoint, audience: 'workspace', workspace_id: tenant.workspaceId, url: 'https://hooks.example.com/x', events: ['anomaly.detected'] })
      .execute();
    assert.deepEqual((await anomaliesOf(tenant)).body.data, [], 'nothing is stored before a pass');

    const first = await detect(h);
    assert.equal(first.ran, true);
    const listed = await anomaliesOf(tenant);
    assert.equal(listed.status, 200, listed.raw);
    assert.equal(listed.body.open_count, 1);
    const [finding] = listed.body.data;
    assert.match(finding.id, /^anf_/);
    assert.deepEqual(
      { ...finding, summary: undefined, detected_at: undefined },
      {
        object: 'anomaly',
        id: finding.id,
        rule: 'error_burst',
        severity: 'medium',
        status: 'open',
        summary: undefined,
        api_key: { id: key.id, name: key.name, prefix: key.prefix },
        evidence: { hour: hour.toISOString(), client_errors: 60, requests: 60, share: 1, top_error_codes: [{ error_code: 'insufficient_scope', status: 403, requests: 60 }] },
        window: { start: hour.toISOString(), end: new Date(hour.getTime() + HOUR_MS).toISOString() },
        detected_at: undefined,
        acknowledged_at: null,
        acknowledged_by: null,
        resolved_at: null,
        resolved_by: null,
      },
    );
    assert.ok(first.stored.includes(finding.id));
    assert.match(finding.summary, /^"ticket-bot" got 60 client errors \(4xx\) out of 60 requests in the hour from /);

    const [event] = await announced(h, tenant.workspaceId);
    assert.deepEqual(event.data, { object: finding });
    const deliveries = await h.db.selectFrom('event_deliveries').select('endpoint_id').where('event_id', '=', event.id).execute();
    assert.deepEqual(deliveries, [{ endpoint_id: endpoint }]);

    // The hour keeps growing and later passes see it again: the finding stays as it was stored, announced once.
    await burst(h, tenant, key.id, 2, 40);
    const second = await detect(h);
    assert.ok(!second.stored.includes(finding.id));
    const again = (await anomaliesOf(tenant)).body.data;
    assert.deepEqual(again, [finding]);
    assert.equal((await announced(h, tenant.workspaceId)).length, 1);
    h.clock.advance(60);
    await detect(h);
    assert.equal(await storedCount(h, tenant.workspaceId), 1);
    assert.equal((await announced(h, tenant.workspaceId)).length, 1);
  });

  it('two passes at once store and announce each finding once', async () => {
    const h = harness();
    const { tenant, key } = await withBurst(h);
    await burst(h, tenant, key.id, 4, 30);
    const passes = await Promise.all([runDetectorOnce(detector(h), { windowHours: 24 }), runDetectorOnce(detector(h), { windowHours: 24 })]);
    // One pass may have found the lock taken (by its twin, or by the app's own detector), then left the work to it.
    await detect(h);
    assert.equal(await storedCount(h, tenant.workspaceId), 2);
    assert.equal((await announced(h, tenant.workspaceId)).length, 2);
    const ids = (await anomaliesOf(tenant)).body.data.map((f: { id: string }) => f.id);
    const stored = passes.flatMap((p) => p.stored).filter((id) => ids.includes(id));
    assert.ok(stored.length <= 2 && new Set(stored).size === stored.length, 'no finding stored by both passes');
  });

  it('acknowledges, resolves and reopens a finding, each change in the management log', async () => {
    const h = harness();
    const { tenant } = await withBurst(h);
    await detect(h);
    const [finding] = (await anomaliesOf(tenant)).body.data;

    const acked = await patch(tenant, finding.id, 'acknowledged');
    assert.equal(acked.status, 200, acked.raw);
    assert.equal(acked.body.status, 'acknowledged');
    assert.equal(acked.body.acknowledged_by, tenant.userId);
    assert.ok(Math.abs(Date.parse(acked.body.acknowledged_at) - h.clock.now.getTime()) < 60_000);
    assert.equal((await anomaliesOf(tenant)).body.open_count, 0);

    const resolved = await patch(tenant, finding.id, 'resolved');
    assert.deepEqual([resolved.body.status, resolved.body.resolved_by, resolved.body.acknowledged_by], ['resolved', tenant.userId, tenant.userId]);
    assert.ok(resolved.body.resolved_at);
    assert.equal((await patch(tenant, finding.id, 'resolved')).status, 200, 'resolving a resolved finding changes nothing');

    const reopened = await patch(tenant, finding.id, 'open');
    assert.deepEqual(
      [reopened.body.status, reopened.body.acknowledged_at, reopened.body.acknowledged_by, reopened.body.resolved_at, reopened.body.resolved_by],
      ['open', null, null, null, null],
    );
    assert.deepEqual({ ...reopened.body, status: undefined }, { ...finding, status: undefined });

    const log = (await tenant.client.get(`/v1/workspaces/${tenant.workspaceId}/management-events?action=anomaly.status_change`)).body.data;
    assert.deepEqual(
      log.map((e: { target: unknown; details: { from: string; to: string }; actor: { id: string } }) => [e.target, e.details.from, e.details.to, e.actor.id]).reverse(),
      [
        [{ type: 'anomaly', id: finding.id }, 'open', 'acknowledged', tenant.userId],
        [{ type: 'anomaly', id: finding.id }, 'acknowledged', 'resolved', tenant.userId],
        [{ type: 'anomaly', id: finding.id }, 'resolved', 'open', tenant.userId],
      ],
    );
    assert.equal(log[0].details.rule, 'error_burst');

    // A service key acts as itself.
    const backend = await serviceClient(h, ['keys:write']);
    const byKey = await backend.patch(`/v1/workspaces/${tenant.workspaceId}/anomalies/${finding.id}`, { status: 'acknowledged' });
    assert.deepEqual([byKey.status, byKey.body.acknowledged_by], [200, backend.serviceKeyId]);
  });

  it('lists open findings first, then acknowledged, then resolved, newest first within each, page by page', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    for (const ago of [1, 2, 3, 4]) await burst(h, tenant, key.id, ago, 25);
    await detect(h);
    const all = (await anomaliesOf(tenant)).body;
    assert.equal(all.open_count, 4);
    const ids: string[] = all.data.map((f: { id: string }) => f.id);
    assert.deepEqual(ids, [...ids].sort().reverse(), 'newest first');
    const [a, b, c, d] = ids as [string, string, string, string];
    await patch(tenant, a, 'resolved');
    await patch(tenant, b, 'acknowledged');
    await patch(tenant, d, 'acknowledged');

    const listed = (await anomaliesOf(tenant)).body;
    assert.deepEqual(
      listed.data.map((f: { id: string; status: string }) => [f.id, f.status]),
      [[c, 'open'], [b, 'acknowledged'], [d, 'acknowledged'], [a, 'resolved']],
    );
    assert.deepEqual([listed.open_count, listed.has_more, listed.next_cursor], [1, false, null]);

    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const reply: Reply = await anomaliesOf(tenant, `?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      const page = reply.body;
      assert.equal(page.open_count, 1);
      pages.push(...page.data.map((f: { id: string }) => f.id));
      cursor = page.next_cursor;
      assert.equal(page.has_more, cursor !== null);
    } while (cursor !== null && pages.length < 10);
    assert.deepEqual(pages, [c, b, d, a]);

    const only = async (query: string) => (await anomaliesOf(tenant, query)).body.data.map((f: { id: string }) => f.id);
    assert.deepEqual(await only('?status=open'), [c]);
    assert.deepEqual(await only('?status=acknowledged'), [b, d]);
    assert.deepEqual(await only('?status=resolved'), [a]);
    assert.deepEqual(await only(`?status=all&key_id=${key.id}`), [c, b, d, a]);
    const other = (await createKey(tenant, { name: 'other' })).body;
    assert.deepEqual((await anomaliesOf(tenant, `?key_id=${other.id}`)).body, { object: 'list', data: [], has_more: false, next_cursor: null, open_count: 0 });
  });

  it('is for the workspace\'s Owners and Admins: a Member gets 403, another workspace 404, a bad status 400', async () => {
    const h = harness();
    const { tenant } = await withBurst(h);
    await detect(h);
    const [finding] = (await anomaliesOf(tenant)).body.data;
    const { client: member } = await inviteAndJoin(h, tenant, uniqueEmail('member'), 'member');
    for (const reply of [await member.get(`/v1/workspaces/${tenant.workspaceId}/anomalies`), await member.patch(`/v1/workspaces/${tenant.workspaceId}/anomalies/${finding.id}`, { status: 'resolved' })]) {
      assert.deepEqual([reply.status, reply.body.error.code], [403, 'insufficient_role'], reply.raw);
    }
    const { client: admin } = await inviteAndJoin(h, tenant, uniqueEmail('admin'), 'admin');
    assert.equal((await admin.patch(`/v1/workspaces/${tenant.workspaceId}/anomalies/${finding.id}`, { status: 'acknowledged' })).status, 200);

    const stranger = await newTenant(h);
    const theirs = await stranger.client.patch(`/v1/workspaces/${stranger.workspaceId}/anomalies/${finding.id}`, { status: 'resolved' });
    assert.deepEqual([theirs.status, theirs.body.error.code], [404, 'not_found']);
    assert.equal((await stranger.client.get(`/v1/workspaces/${tenant.workspaceId}/anomalies`)).status, 404);
    assert.equal((await patch(tenant, newId('anf'), 'resolved')).status, 404);
    assert.equal((await patch(tenant, 'anf_nope', 'resolved')).status, 404);
    for (const status of ['closed', '', 'OPEN']) {
      const bad = await patch(tenant, finding.id, status);
      assert.deepEqual([bad.status, bad.body.error.code, bad.body.error.param], [400, 'invalid_request', 'status'], bad.raw);
    }
    assert.equal((await anomaliesOf(tenant)).body.data[0].status, 'acknowledged', 'refused changes changed nothing');
  });
});
