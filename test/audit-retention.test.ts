import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { partitionName, retainAuditLog, startOfUtcDay, type PartitionedAuditTable, type RetentionReport } from '../src/audit/retention.js';
import type { Db } from '../src/db/client.js';
import { apiCall, createKey, describeEachBackend, newTenant, type Harness } from './harness.js';

const DAY_MS = 86_400_000;
const RETENTION_DAYS = 90;
const PAYLOAD_DAYS = 7;

/** Noon (UTC) today: every instant in these tests is a whole number of days from it, far from midnight. */
function noonToday(): Date {
  return new Date(startOfUtcDay(new Date()).getTime() + DAY_MS / 2);
}

function daysFrom(base: Date, days: number): Date {
  return new Date(base.getTime() + days * DAY_MS);
}

/** Moves the app's clock to `at` for `body`, and back however `body` ends. */
async function atTime<T>(h: Harness, at: Date, body: () => Promise<T>): Promise<T> {
  const seconds = (at.getTime() - h.clock.now.getTime()) / 1000;
  h.clock.advance(seconds);
  try {
    return await body();
  } finally {
    h.clock.advance(-seconds);
  }
}

/** Retention as the hourly job runs it, at the app's (moved) time. */
function retain(h: Harness): Promise<RetentionReport> {
  return retainAuditLog({ db: h.db, now: () => h.clock.now, retentionDays: RETENTION_DAYS, payloadDays: PAYLOAD_DAYS });
}

async function newKeySecret(h: Harness): Promise<{ keyId: string; secret: string }> {
  const tenant = await newTenant(h);
  const key = await createKey(tenant);
  assert.equal(key.status, 201, key.raw);
  return { keyId: key.body.id as string, secret: key.body.secret as string };
}

/** Real calls to the public API; returns once the writer has written their events (it writes in batches, off the request path). */
async function callsAt(h: Harness, key: { keyId: string; secret: string }, at: Date, count: number): Promise<void> {
  const before = await eventCount(h.db, key.keyId);
  await atTime(h, at, async () => {
    for (let i = 0; i < count; i++) assert.equal((await apiCall(h, key.secret, `/api/v1/ping?call=${i}`)).status, 200);
  });
  const deadline = Date.now() + 10_000;
  while ((await eventCount(h.db, key.keyId)) < before + count) {
    if (Date.now() > deadline) throw new Error(`the audit writer did not write ${count} events within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function eventCount(db: Db, keyId: string): Promise<number> {
  const row = await db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('key_id', '=', keyId).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The day (relative to base) of every row in a table, sorted: each suite has its own database. */
async function rowDays(db: Db, table: PartitionedAuditTable, base: Date): Promise<number[]> {
  const { rows } = await sql<{ created_at: Date }>`select created_at from ${sql.table(table)} order by created_at`.execute(db);
  return rows.map((r) => Math.round((new Date(r.created_at).getTime() - base.getTime()) / DAY_MS));
}

async function partitions(db: Db, table: PartitionedAuditTable): Promise<{ dated: string[]; default: string | null }> {
  const { rows } = await sql<{ name: string; is_default: boolean }>`
    select c.relname as name, c.oid = p.partdefid as is_default
    from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_partitioned_table p on p.partrelid = i.inhparent
    where i.inhparent = ${table}::regclass order by c.relname`.execute(db);
  return { dated: rows.filter((r) => !r.is_default).map((r) => r.name), default: rows.find((r) => r.is_default)?.name ?? null };
}

/** Which partitions hold the rows of the UTC day of `at`. */
async function partitionOf(db: Db, table: PartitionedAuditTable, at: Date): Promise<string[]> {
  const from = startOfUtcDay(at);
  const to = new Date(from.getTime() + DAY_MS);
  const { rows } = await sql<{ part: string }>`
    select distinct tableoid::regclass::text as part from ${sql.table(table)} where created_at >= ${from} and created_at < ${to}`.execute(db);
  return rows.map((r) => r.part);
}

function namesFor(table: PartitionedAuditTable, base: Date, days: number[]): string[] {
  return days.map((d) => partitionName(table, startOfUtcDay(daysFrom(base, d))));
}

describeEachBackend('audit retention: payloads after 7 days, events after 90', (harness) => {
  it('drops expired partitions, trims the default partitions and the rollups, and a second run changes nothing', async () => {
    const h = harness();
    const base = noonToday();
    const key = await newKeySecret(h);
    // As the hourly job would have run over the past months: partitions made ahead on the days it ran,
    // none for days -100 and -40 (it was not running), so those calls land in the default partitions.
    await callsAt(h, key, daysFrom(base, -100), 2);
    for (const day of [-95, -9, -8, -6, -1]) {
      await atTime(h, daysFrom(base, day), () => retain(h));
      await callsAt(h, key, daysFrom(base, day), 2);
    }
    await callsAt(h, key, daysFrom(base, -40), 2);
    await callsAt(h, key, base, 2);
    assert.deepEqual(await partitionOf(h.db, 'audit_events', daysFrom(base, -40)), ['audit_events_default']);
    // The earlier runs already purged what had expired by their day (payloads of days -100, -95, -9).
    assert.deepEqual(await rowDays(h.db, 'audit_payloads', base), [-40, -40, -8, -8, -6, -6, -1, -1, 0, 0]);

    const report = await atTime(h, base, () => retain(h));
    assert.equal(report.skipped, false);
    assert.deepEqual(report.dropped, namesFor('audit_payloads', base, [-8]));
    assert.ok(report.deleted >= 2, 'the payloads of day -40, from the default partition');

    // Payloads: whole days that ended more than 7 days ago are gone, with their partitions.
    assert.deepEqual(await rowDays(h.db, 'audit_payloads', base), [-6, -6, -1, -1, 0, 0]);
    const payloadParts = await partitions(h.db, 'audit_payloads');
    assert.equal(payloadParts.default, 'audit_payloads_default');
    for (const name of namesFor('audit_payloads', base, [-9, -8, -95])) assert.ok(!payloadParts.dated.includes(name), `${name} should be dropped`);
    for (const name of namesFor('audit_payloads', base, [-7, -6, 0, 1, 2])) assert.ok(payloadParts.dated.includes(name), `${name} should be kept`);

    // Events: every metadata row younger than 90 days stays, payload or not; older ones are gone.
    assert.deepEqual(await rowDays(h.db, 'audit_events', base), [-40, -40, -9, -9, -8, -8, -6, -6, -1, -1, 0, 0]);
    const eventParts = await partitions(h.db, 'audit_events');
    assert.equal(eventParts.default, 'audit_events_default');
    for (const name of namesFor('audit_events', base, [-95, -94, -93])) assert.ok(!eventParts.dated.includes(name), `${name} should be dropped`);
    for (const name of namesFor('audit_events', base, [-9, -8, -7, -6, 0, 1, 2])) assert.ok(eventParts.dated.includes(name), `${name} should be kept`);

    // Rollups: rows older than the retention are deleted.
    const hours = await h.db.selectFrom('audit_usage_hourly').select('hour').where('key_id', '=', key.keyId).orderBy('hour').execute();
    assert.deepEqual([...new Set(hours.map((r) => Math.round((r.hour.getTime() - base.getTime()) / DAY_MS)))], [-40, -9, -8, -6, -1, 0]);
    const ipDays = await h.db.selectFrom('audit_ip_daily').select('day').where('key_id', '=', key.keyId).orderBy('day').execute();
    assert.deepEqual(ipDays.map((r) => r.day), [-40, -9, -8, -6, -1, 0].map((d) => daysFrom(base, d).toISOString().slice(0, 10)));

    // Idempotent: the same run again finds nothing to do.
    const catalog = [await partitions(h.db, 'audit_events'), await partitions(h.db, 'audit_payloads')];
    const again = await atTime(h, base, () => retain(h));
    assert.deepEqual(again, { skipped: false, created: [], dropped: [], moved: 0, deleted: 0 });
    assert.deepEqual([await partitions(h.db, 'audit_events'), await partitions(h.db, 'audit_payloads')], catalog);
    assert.equal(await eventCount(h.db, key.keyId), 12);
  });
});

describeEachBackend('audit retention: rows that waited in the default partition', (harness) => {
  it('moves them into the day partition it creates for them, and never drops the default partition', async () => {
    const h = harness();
    const base = noonToday();
    const key = await newKeySecret(h);
    // Calls stamped five days ahead (a clock ahead, or a partition that was never made): no partition yet.
    await callsAt(h, key, daysFrom(base, 5), 3);
    await callsAt(h, key, daysFrom(base, 40), 1);
    assert.deepEqual(await partitionOf(h.db, 'audit_events', daysFrom(base, 5)), ['audit_events_default']);
    assert.deepEqual(await partitionOf(h.db, 'audit_payloads', daysFrom(base, 5)), ['audit_payloads_default']);

    const report = await atTime(h, daysFrom(base, 3), () => retain(h));
    assert.equal(report.moved, 6, 'three events and their three payloads');
    const [day5Events, day5Payloads] = [namesFor('audit_events', base, [5])[0]!, namesFor('audit_payloads', base, [5])[0]!];
    assert.ok(report.created.includes(day5Events) && report.created.includes(day5Payloads));
    assert.deepEqual(await partitionOf(h.db, 'audit_events', daysFrom(base, 5)), [day5Events]);
    assert.deepEqual(await partitionOf(h.db, 'audit_payloads', daysFrom(base, 5)), [day5Payloads]);
    // The default partitions are attached again, holding what has no partition still.
    assert.equal((await partitions(h.db, 'audit_events')).default, 'audit_events_default');
    assert.equal((await partitions(h.db, 'audit_payloads')).default, 'audit_payloads_default');
    assert.deepEqual(await partitionOf(h.db, 'audit_events', daysFrom(base, 40)), ['audit_events_default']);
    assert.deepEqual(await rowDays(h.db, 'audit_events', base), [5, 5, 5, 40]);

    const again = await atTime(h, daysFrom(base, 3), () => retain(h));
    assert.deepEqual(again, { skipped: false, created: [], dropped: [], moved: 0, deleted: 0 });
    await callsAt(h, key, daysFrom(base, 5), 1);
    assert.deepEqual(await partitionOf(h.db, 'audit_events', daysFrom(base, 5)), [day5Events]);

    // A year on, everything dated has expired; the default partition is emptied, never dropped.
    await atTime(h, daysFrom(base, 400), () => retain(h));
    const events = await partitions(h.db, 'audit_events');
    assert.equal(events.default, 'audit_events_default');
    assert.deepEqual(events.dated, namesFor('audit_events', base, [400, 401, 402]));
    assert.deepEqual((await partitions(h.db, 'audit_payloads')).dated, namesFor('audit_payloads', base, [400, 401, 402]));
    assert.equal(await eventCount(h.db, key.keyId), 0);
  });
});

describeEachBackend('audit retention: several instances at once', (harness) => {
  it('creates each partition once, whichever run takes the lock, and none fails', async () => {
    const h = harness();
    const at = daysFrom(noonToday(), 20);
    const reports = await atTime(h, at, () => Promise.all([retain(h), retain(h), retain(h), retain(h)]));
    const created = reports.flatMap((r) => r.created).sort();
    assert.deepEqual(created, [...namesFor('audit_events', at, [0, 1, 2]), ...namesFor('audit_payloads', at, [0, 1, 2])].sort());
    assert.ok(reports.some((r) => !r.skipped));
    assert.deepEqual((await partitions(h.db, 'audit_events')).dated.filter((n) => namesFor('audit_events', at, [0, 1, 2]).includes(n)).length, 3);
  });
});
