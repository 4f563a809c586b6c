import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';
import { sql } from 'kysely';
import { DAY_MS, HOUR_MS, addDays, dayOf, floorHour } from '../src/audit/hours.js';
import { runDetectorOnce } from '../src/anomalies/detector.js';
import { newId } from '../src/ids.js';
import { apiCall, createKey, describeEachBackend, newTenant, uniqueEmail, type Harness, type Reply, type Tenant } from './harness.js';
import { inviteAndJoin } from './invite.js';

interface HourlyRow {
  workspace_id: string;
  key_id: string;
  hour: Date;
  route: string;
  status: number;
  error_code: string;
  scope_used: string;
  requests: number;
}

interface IpRow {
  workspace_id: string;
  key_id: string;
  day: string;
  source_ip: string;
  first_seen: Date;
  last_seen: Date;
  requests: number;
}

const LIST = '/api/v1/conversations';
const GET_ONE = '/api/v1/conversations/:id';
const USUAL_IPS = ['203.0.113.10', '203.0.113.11'];

/** Rollup rows are written straight into the tables, added up on conflict as the audit writer does. */
async function writeRollups(h: Harness, rows: { hourly?: HourlyRow[]; ips?: IpRow[] }): Promise<void> {
  for (let i = 0; i < (rows.hourly?.length ?? 0); i += 1000) {
    await h.db
      .insertInto('audit_usage_hourly')
      .values(rows.hourly!.slice(i, i + 1000))
      .onConflict((oc) => oc.columns(['key_id', 'hour', 'route', 'status', 'error_code', 'scope_used']).doUpdateSet({ requests: sql`audit_usage_hourly.requests + excluded.requests` }))
      .execute();
  }
  for (let i = 0; i < (rows.ips?.length ?? 0); i += 1000) {
    await h.db
      .insertInto('audit_ip_daily')
      .values(rows.ips!.slice(i, i + 1000))
      .onConflict((oc) =>
        oc.columns(['key_id', 'day', 'source_ip']).doUpdateSet({
          requests: sql`audit_ip_daily.requests + excluded.requests`,
          first_seen: sql`least(audit_ip_daily.first_seen, excluded.first_seen)`,
          last_seen: sql`greatest(audit_ip_daily.last_seen, excluded.last_seen)`,
        }),
      )
      .execute();
  }
}

/** Keys made in a test are "created" 60 days ago, so that the crafted history is not older than the key. */
async function backdate(h: Harness, keyId: string, now: Date): Promise<void> {
  await sql`update api_keys set created_at = ${new Date(now.getTime() - 60 * DAY_MS)} where id = ${keyId}`.execute(h.db);
}

/**
 * 38 days of ordinary traffic up to `now`'s hour: 18–22 list calls an hour from the usual IP, a 404 every
 * seventh hour from the other, nothing at all on the day `gapDaysAgo` days ago.
 */
function ordinary(tenant: Tenant, keyId: string, now: Date, gapDaysAgo = 10): { hourly: HourlyRow[]; ips: IpRow[] } {
  const base = { workspace_id: tenant.workspaceId, key_id: keyId };
  const hourly: HourlyRow[] = [];
  const ips = new Map<string, IpRow>();
  const gapDay = addDays(dayOf(now), -gapDaysAgo);
  const last = floorHour(now).getTime();
  for (let i = 38 * 24; i >= 0; i--) {
    const hour = new Date(last - i * HOUR_MS);
    const day = dayOf(hour);
    if (day === gapDay) continue;
    const calls: Array<[string, number, string, string, number]> = [[USUAL_IPS[0]!, 200, '', LIST, 18 + (i % 5)]];
    if (i % 7 === 0) calls.push([USUAL_IPS[1]!, 404, 'not_found', GET_ONE, 1]);
    for (const [ip, status, errorCode, route, requests] of calls) {
      hourly.push({ ...base, hour, route, status, error_code: errorCode, scope_used: 'conversations:read', requests });
      const seen = ips.get(`${day} ${ip}`) ?? { ...base, day, source_ip: ip, first_seen: new Date(hour.getTime() + 60_000), last_seen: hour, requests: 0 };
      seen.last_seen = new Date(hour.getTime() + 50 * 60_000);
      seen.requests += requests;
      ips.set(`${day} ${ip}`, seen);
    }
  }
  return { hourly, ips: [...ips.values()] };
}

async function refusedEvents(h: Harness, tenant: Tenant, key: { id: string; name: string }, calls: Array<[string, Date]>): Promise<void> {
  await h.db
    .insertInto('audit_events')
    .values(
      calls.map(([ip, at]) => ({
        id: newId('evt', at.getTime()),
        created_at: at,
        workspace_id: tenant.workspaceId,
        mode: 'live' as const,
        key_id: key.id,
        key_name: key.name,
        secret_id: null,
        secret_version: null,
        method: 'GET',
        route: LIST,
        path: LIST,
        status: ip.startsWith('203.') ? 200 : 403,
        latency_ms: 0.4,
        source_ip: ip,
        user_agent: 'crafted',
        request_id: newId('req'),
        error_code: ip.startsWith('203.') ? null : 'ip_not_allowed',
        scope: 'conversations:read',
        argument_hash: '0'.repeat(64),
      })),
    )
    .execute();
}

async function keyWithHistory(h: Harness, tenant: Tenant, now: Date, fields: Record<string, unknown> = {}) {
  const key = (await createKey(tenant, { name: 'warehouse-export', scopes: ['conversations:read'], ...fields })).body as { id: string; name: string };
  await backdate(h, key.id, now);
  const traffic = ordinary(tenant, key.id, now);
  await writeRollups(h, traffic);
  return { key, traffic };
}

/**
 * The crafted rows are placed relative to the current hour; a test that started in the last two minutes
 * of an hour would see that hour (or day) end under it, so the clock moves just past it first.
 */
function awayFromHourEnd(h: Harness): Date {
  const intoHour = h.clock.now.getTime() % HOUR_MS;
  if (intoHour > HOUR_MS - 120_000) h.clock.advance((HOUR_MS - intoHour) / 1000 + 60);
  return h.clock.now;
}

const usageOf = (tenant: Tenant, keyId: string, query = '') => tenant.client.get(`${tenant.keys}/${keyId}/usage${query}`);
const anomaliesOf = (tenant: Tenant, query = '') => tenant.client.get(`/v1/workspaces/${tenant.workspaceId}/anomalies${query}`);
/** A detector pass over the last `hours` (the API lists what the detector stored), queued behind any other pass. */
const detect = (h: Harness, hours = 24) => runDetectorOnce({ db: h.db, now: () => h.clock.now }, { windowHours: hours, wait: true });
/** Stored findings in the order of what they flag, newest first (one pass stores them in no particular order). */
const byWindow = (found: any[]): any[] => // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
 [...found].sort((a, b) => b.window.start.localeCompare(a.window.start) || a.rule.localeCompare(b.rule));

function sumBy<T>(rows: T[], pick: (row: T) => number): number {
  return rows.reduce((total, row) => total + pick(row), 0);
}

describeEachBackend('A key\'s usage and the anomaly scan', (harness) => {
  it('shows a key\'s usage: every day, the last 48 hours, routes, IPs, scopes used and unused', async () => {
    const h = harness();
    const now = awayFromHourEnd(h);
    const tenant = await newTenant(h);
    const { key, traffic } = await keyWithHistory(h, tenant, now, { scopes: ['conversations:read', 'tickets:write'] });

    const reply = await usageOf(tenant, key.id);
    assert.equal(reply.status, 200, reply.raw);
    const usage = reply.body;
    const firstDay = addDays(dayOf(now), -29);
    const inPeriod = traffic.hourly.filter((r) => dayOf(r.hour) >= firstDay);
    assert.equal(usage.object, 'api_key_usage');
    assert.deepEqual(usage.key, { id: key.id, name: 'warehouse-export' });
    assert.equal(usage.days, 30);
    assert.equal(usage.period.from, `${firstDay}T00:00:00.000Z`);

    assert.equal(usage.per_day.length, 30);
    assert.deepEqual(usage.per_day.map((d: { day: string }) => d.day), Array.from({ length: 30 }, (_, i) => addDays(firstDay, i)));
    const gap = usage.per_day.find((d: { day: string }) => d.day === addDays(dayOf(now), -10));
    assert.deepEqual(gap, { day: addDays(dayOf(now), -10), '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, total: 0 });
    const yesterday = addDays(dayOf(now), -1);
    const expected = traffic.hourly.filter((r) => dayOf(r.hour) === yesterday);
    assert.deepEqual(usage.per_day.at(-2), {
      day: yesterday,
      '2xx': sumBy(expected.filter((r) => r.status === 200), (r) => r.requests),
      '3xx': 0,
      '4xx': sumBy(expected.filter((r) => r.status === 404), (r) => r.requests),
      '5xx': 0,
      total: sumBy(expected, (r) => r.requests),
    });
    assert.equal(usage.totals.total, sumBy(inPeriod, (r) => r.requests));

    assert.equal(usage.per_hour.length, 48);
    assert.equal(usage.per_hour.at(-1).hour, floorHour(h.clock.now).toISOString());
    assert.equal(Date.parse(usage.per_hour[1].hour) - Date.parse(usage.per_hour[0].hour), HOUR_MS);
    assert.ok(usage.per_hour.every((hour: { total: number }) => hour.total >= 18));

    const errors = sumBy(inPeriod.filter((r) => r.status === 404), (r) => r.requests);
    assert.deepEqual(usage.top_routes, [
      { route: LIST, requests: sumBy(inPeriod.filter((r) => r.route === LIST), (r) => r.requests), errors: 0, error_share: 0 },
      { route: GET_ONE, requests: errors, errors, error_share: 1 },
    ]);

    assert.equal(usage.source_ips.count, 2);
    assert.deepEqual(
      usage.source_ips.ips.map((ip: { ip: string; new: boolean }) => [ip.ip, ip.new]),
      [[USUAL_IPS[0], false], [USUAL_IPS[1], false]],
    );
    const usual = usage.source_ips.ips[0];
    assert.equal(usual.requests, sumBy(inPeriod.filter((r) => r.route === LIST), (r) => r.requests));
    assert.ok(usual.first_seen.startsWith(firstDay) && Date.parse(usual.last_seen) <= Date.parse(floorHour(now).toISOString()) + HOUR_MS);

    assert.deepEqual(usage.scopes, {
      granted: ['conversations:read', 'tickets:write'],
      used: [{ scope: 'conversations:read', requests: usage.totals.total }],
      unused: ['tickets:write'],
      hint: 'granted but unused in 30 days: tickets:write — consider removing it',
    });
    assert.deepEqual(usage.anomalies, [], 'ordinary traffic flags nothing');

    const week = (await usageOf(tenant, key.id, '?days=7')).body;
    assert.equal(week.per_day.length, 7);
    assert.equal(week.scopes.hint, 'granted but unused in 7 days: tickets:write — consider removing it');
  });

  it('flags ordinary traffic on no key, over the last day or the last 30 days', async () => {
    const h = harness();
    const now = awayFromHourEnd(h);
    const tenant = await newTenant(h);
    await keyWithHistory(h, tenant, now);
    await keyWithHistory(h, tenant, now, { name: 'crm-sync' });
    await detect(h);
    const lastDay = await anomaliesOf(tenant);
    assert.equal(lastDay.status, 200, lastDay.raw);
    assert.deepEqual([lastDay.body.data, lastDay.body.open_count], [[], 0]);
    await detect(h, 30 * 24);
    assert.deepEqual((await anomaliesOf(tenant)).body.data, []);
  });

  it('flags a volume spike, an error burst, new source IPs and calls refused by the allowlist, newest first, with evidence', async () => {
    const h = harness();
    const now = awayFromHourEnd(h);
    const tenant = await newTenant(h);
    const { key } = await keyWithHistory(h, tenant, now, { ip_allowlist: ['203.0.113.0/24'] });
    const quiet = await keyWithHistory(h, tenant, now, { name: 'crm-sync' });
    const hour = (ago: number) => new Date(floorHour(now).getTime() - ago * HOUR_MS);
    const minutes = (at: Date, m: number) => new Date(at.getTime() + m * 60_000);
    const base = { workspace_id: tenant.workspaceId, key_id: key.id };

    await writeRollups(h, {
      hourly: [
        { ...base, hour: hour(3), route: '/api/v1/contacts', status: 200, error_code: '', scope_used: 'contacts:read', requests: 2000 },
        { ...base, hour: hour(5), route: '/api/v1/tickets', status: 403, error_code: 'insufficient_scope', scope_used: '', requests: 60 },
        { ...base, hour: hour(1), route: LIST, status: 403, error_code: 'ip_not_allowed', scope_used: '', requests: 7 },
      ],
      ips: [
        { ...base, day: dayOf(hour(2)), source_ip: '198.51.100.7', first_seen: minutes(hour(2), 5), last_seen: minutes(hour(2), 9), requests: 12 },
        { ...base, day: dayOf(hour(1)), source_ip: '192.0.2.66', first_seen: minutes(hour(1), 10), last_seen: minutes(hour(1), 14), requests: 5 },
        { ...base, day: dayOf(hour(1)), source_ip: '192.0.2.67', first_seen: minutes(hour(1), 20), last_seen: minutes(hour(1), 21), requests: 2 },
      ],
    });
    // The refused calls' own events (the only anomaly read of audit_events), among allowed calls of that hour.
    await refusedEvents(h, tenant, key, [
      ...[10, 11, 12, 13, 14].map((m): [string, Date] => ['192.0.2.66', minutes(hour(1), m)]),
      ['192.0.2.67', minutes(hour(1), 20)],
      ['192.0.2.67', minutes(hour(1), 21)],
      ['203.0.113.10', minutes(hour(1), 15)],
    ]);

    await detect(h);
    const reply = await anomaliesOf(tenant);
    assert.equal(reply.status, 200, reply.raw);
    const found = byWindow(reply.body.data);
    assert.deepEqual(
      found.map((a: { rule: string; window: { start: string } }) => [a.rule, a.window.start]),
      [
        ['new_source_ip', minutes(hour(1), 10).toISOString()],
        ['ip_refused', hour(1).toISOString()],
        ['new_source_ip', minutes(hour(2), 5).toISOString()],
        ['volume_spike', hour(3).toISOString()],
        ['error_burst', hour(5).toISOString()],
      ],
    );
    assert.equal(reply.body.open_count, 5);
    const prefix = (await tenant.client.get(`${tenant.keys}/${key.id}`)).body.prefix;
    assert.ok(
      found.every(
        (a: { api_key: unknown; object: string; status: string; id: string }) =>
          a.object === 'anomaly' && a.status === 'open' && a.id.startsWith('anf_') && JSON.stringify(a.api_key) === JSON.stringify({ id: key.id, name: key.name, prefix }),
      ),
    );
    const byType = (type: string) => found.filter((a: { rule: string }) => a.rule === type);

    const [refused] = byType('ip_refused');
    assert.equal(refused.severity, 'high');
    assert.deepEqual(refused.evidence, {
      refused: 7,
      per_hour: [{ hour: hour(1).toISOString(), requests: 7 }],
      ips: [
        { ip: '192.0.2.66', requests: 5, first_seen: minutes(hour(1), 10).toISOString(), last_seen: minutes(hour(1), 14).toISOString() },
        { ip: '192.0.2.67', requests: 2, first_seen: minutes(hour(1), 20).toISOString(), last_seen: minutes(hour(1), 21).toISOString() },
      ],
      ip_count: 2,
      ips_complete: true,
    });
    assert.match(refused.summary, /^"warehouse-export" had 7 calls refused on .* because the source IP is outside its allowlist, from 2 IPs\.$/);

    const [spike] = byType('volume_spike');
    // The spike's hour holds its ordinary 18–22 calls (and a 404 every seventh hour) besides the 2,000.
    assert.ok(spike.evidence.requests >= 2018 && spike.evidence.requests <= 2023);
    assert.equal(spike.evidence.baseline.hours, 168);
    assert.ok(spike.evidence.baseline.mean > 18 && spike.evidence.baseline.mean < 23);
    assert.ok(spike.evidence.threshold >= 100 && spike.evidence.threshold < 200);
    assert.equal(spike.severity, 'high');
    assert.match(spike.summary, /^"warehouse-export" made 2,0\d\d requests in the hour from /);

    const [burst] = byType('error_burst');
    assert.equal(burst.evidence.client_errors, 60);
    assert.deepEqual(burst.evidence.top_error_codes[0], { error_code: 'insufficient_scope', status: 403, requests: 60 });
    assert.ok(burst.evidence.share >= 0.7);

    const newIp = byType('new_source_ip').find((a: { evidence: { ip: string } }) => a.evidence.ip === '198.51.100.7');
    assert.deepEqual(newIp.evidence, {
      ip: '198.51.100.7',
      network: '198.51.100.0/24',
      ip_count: 1,
      first_seen: minutes(hour(2), 5).toISOString(),
      last_seen: minutes(hour(2), 9).toISOString(),
      requests: 12,
      lookback_days: 30,
    });

    // The two refused IPs of one /24 are one new network.
    const newNetwork = byType('new_source_ip').find((a: { evidence: { ip: string } }) => a.evidence.ip === '192.0.2.66');
    assert.deepEqual([newNetwork.evidence.network, newNetwork.evidence.ip_count, newNetwork.evidence.requests], ['192.0.2.0/24', 2, 7]);

    // One key, another key.
    assert.equal((await anomaliesOf(tenant, `?key_id=${key.id}`)).body.data.length, 5);
    assert.deepEqual((await anomaliesOf(tenant, `?key_id=${quiet.key.id}`)).body, { object: 'list', data: [], has_more: false, next_cursor: null, open_count: 0 });

    // The key's usage computes its 30 days' anomalies on read, each naming the finding stored for it.
    const usage = (await usageOf(tenant, key.id)).body;
    assert.deepEqual(
      usage.anomalies.map((a: { type: string; finding: { id: string; status: string } }) => [a.type, a.finding.id, a.finding.status]).sort(),
      found.map((a: { rule: string; id: string }) => [a.rule, a.id, 'open']).sort(),
    );
    const ips = new Map(usage.source_ips.ips.map((ip: { ip: string; new: boolean }) => [ip.ip, ip.new]));
    assert.deepEqual([ips.get('198.51.100.7'), ips.get('192.0.2.66'), ips.get(USUAL_IPS[0])], [true, true, false]);
  });

  it('finds a burst and a refusal on a key that never spikes (whose other hours the scan leaves in the database)', async () => {
    const h = harness();
    const now = awayFromHourEnd(h);
    const tenant = await newTenant(h);
    const { key } = await keyWithHistory(h, tenant, now);
    const hour = (ago: number) => new Date(floorHour(now).getTime() - ago * HOUR_MS);
    const base = { workspace_id: tenant.workspaceId, key_id: key.id, route: LIST };
    await writeRollups(h, {
      hourly: [
        { ...base, hour: hour(3), status: 404, error_code: 'not_found', scope_used: 'conversations:read', requests: 25 },
        { ...base, hour: hour(1), status: 403, error_code: 'ip_not_allowed', scope_used: '', requests: 1 },
      ],
    });
    await refusedEvents(h, tenant, key, [['192.0.2.99', new Date(hour(1).getTime() + 30 * 60_000)]]);

    await detect(h);
    const found = byWindow((await anomaliesOf(tenant)).body.data);
    assert.deepEqual(
      found.map((a: { rule: string; window: { start: string } }) => [a.rule, a.window.start]),
      [
        ['ip_refused', hour(1).toISOString()],
        ['error_burst', hour(3).toISOString()],
      ],
    );
    assert.deepEqual(found[0].evidence.ips.map((ip: { ip: string }) => ip.ip), ['192.0.2.99']);
    // The hour's own traffic may hold one ordinary 404 besides the 25.
    assert.ok(found[1].evidence.client_errors >= 25 && found[1].evidence.client_errors <= 26);
  });

  it('refuses a Member with 403, hides other workspaces\' keys with 404 and refuses bad parameters with 400', async () => {
    const h = harness();
    const now = awayFromHourEnd(h);
    const owner = await newTenant(h);
    const stranger = await newTenant(h);
    const { key } = await keyWithHistory(h, owner, now);
    const memberEmail = uniqueEmail('member');
    const { client: member } = await inviteAndJoin(h, owner, memberEmail, 'member');

    for (const reply of [await member.get(`${owner.keys}/${key.id}/usage`), await member.get(`/v1/workspaces/${owner.workspaceId}/anomalies`)]) {
      assert.equal(reply.status, 403);
      assert.equal(reply.body.error.code, 'insufficient_role');
    }

    const notFound: Reply[] = [
      await stranger.client.get(`${owner.keys}/${key.id}/usage`),
      await stranger.client.get(`/v1/workspaces/${owner.workspaceId}/anomalies`),
      await usageOf(stranger, key.id),
      await anomaliesOf(stranger, `?key_id=${key.id}`),
      await usageOf(owner, 'key_nope'),
    ];
    for (const reply of notFound) assert.deepEqual([reply.status, reply.body.error.code], [404, 'not_found'], reply.raw);

    const day = 86_400_000;
    const at = (ms: number) => new Date(now.getTime() + ms).toISOString();
    const bad: Array<[Promise<Reply>, string]> = [
      [usageOf(owner, key.id, '?days=0'), 'days'],
      [usageOf(owner, key.id, '?days=91'), 'days'],
      [usageOf(owner, key.id, '?days=1.5'), 'days'],
      [usageOf(owner, key.id, '?days=lots'), 'days'],
      [anomaliesOf(owner, '?status=closed'), 'status'],
      [anomaliesOf(owner, '?limit=0'), 'limit'],
      [anomaliesOf(owner, `?cursor=${newId('anf')}`), 'cursor'],
      [anomaliesOf(owner, `?key_id=${'k'.repeat(300)}`), 'key_id'],
    ];
    for (const [request, param] of bad) {
      const reply = await request;
      assert.deepEqual([reply.status, reply.body.error.code, reply.body.error.param], [400, 'invalid_request', param], reply.raw);
    }
    assert.equal((await usageOf(owner, key.id, '?days=90')).body.per_day.length, 90);
    assert.equal((await anomaliesOf(owner, '?status=all&limit=100')).status, 200);
  });

  it('shows real calls in the usage once the audit writer has written them', async () => {
    const h = harness();
    awayFromHourEnd(h);
    const tenant = await newTenant(h);
    const created = (await createKey(tenant, { name: 'live-calls', scopes: ['conversations:read'] })).body;
    const ip = '192.0.2.5';
    for (const path of ['/api/v1/ping', '/api/v1/ping', '/api/v1/conversations', '/api/v1/tickets']) {
      await apiCall(h, created.secret, path, { ip });
    }

    let usage: Reply | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      usage = await usageOf(tenant, created.id);
      if (usage.body.totals?.total === 4) break;
      await sleep(50);
    }
    assert.equal(usage?.status, 200);
    const body = usage!.body;
    assert.deepEqual(body.totals, { '2xx': 3, '3xx': 0, '4xx': 1, '5xx': 0, total: 4 });
    assert.deepEqual(body.per_day.at(-1), { day: dayOf(h.clock.now), '2xx': 3, '3xx': 0, '4xx': 1, '5xx': 0, total: 4 });
    assert.equal(sumBy(body.per_hour, (hour: { total: number }) => hour.total), 4);
    assert.deepEqual(
      body.top_routes.map((r: { route: string; requests: number; error_share: number }) => [r.route, r.requests, r.error_share]),
      [['/api/v1/ping', 2, 0], ['/api/v1/conversations', 1, 0], ['/api/v1/tickets', 1, 1]],
    );
    assert.deepEqual(body.source_ips.ips.map((s: { ip: string; requests: number; new: boolean }) => [s.ip, s.requests, s.new]), [[ip, 4, true]]);
    assert.deepEqual(body.scopes.used, [{ scope: 'conversations:read', requests: 1 }]);
    assert.deepEqual([body.scopes.unused, body.scopes.hint], [[], null]);
    assert.deepEqual(body.anomalies, [], 'a brand-new key\'s first IP is not an anomaly');
  });
});
