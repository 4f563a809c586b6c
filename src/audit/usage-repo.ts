import { sql, type QueryCreator, type RawBuilder } from 'kysely';
import type { Executor } from '../db/client.js';
import type { Database } from '../db/schema.js';
import { newId } from '../ids.js';
import { REFUSED_ERROR_CODE, type ErrorCodeCount, type HourTotals, type IpDay, type KeyInfo, type RefusalScan, type ScanPrefilter } from './anomalies.js';
import type { RouteTotal } from './usage-summary.js';

/** Whose rows: a workspace, or one of its keys. */
export interface UsageScope {
  workspaceId: string;
  keyId?: string | undefined;
}

/** Counts arrive as bigint, text or number depending on the driver and the sum's type. */
function toCount(value: unknown): number {
  return Number(value);
}

interface HourTotalsRow {
  key_id: string;
  hour: Date;
  requests: unknown;
  '2xx': unknown;
  '3xx': unknown;
  '4xx': unknown;
  '5xx': unknown;
  refused: unknown;
}

function toHourTotals(r: HourTotalsRow): HourTotals {
  return {
    key_id: r.key_id,
    hour: r.hour,
    requests: toCount(r.requests),
    '2xx': toCount(r['2xx']),
    '3xx': toCount(r['3xx']),
    '4xx': toCount(r['4xx']),
    '5xx': toCount(r['5xx']),
    refused: toCount(r.refused),
  };
}

/**
 * The lower bound of the event ids created at or after `at`: ids start with their creation time in
 * sortable base32 (src/ids.ts), so a time range is an id range and the (key_id, id) index serves it.
 */
function eventIdBound(at: Date): string {
  return newId('evt', at.getTime()).slice(0, 'evt_'.length + 10);
}

/** See hourTotals; a builder of its own so that the scan can filter it and the benchmark show its plan. */
export function hourTotalsQuery(ex: QueryCreator<Database>, scope: UsageScope, from: Date, to: Date) {
  // coalesce: a sum over no rows is null, and the scan's filter compares these.
  const sumWhere = (condition: RawBuilder<unknown>) => sql<number>`coalesce(sum(requests) filter (where ${condition}), 0)`;
  let query = ex
    .selectFrom('audit_usage_hourly')
    .select([
      'key_id',
      'hour',
      (eb) => eb.fn.sum<number>('requests').as('requests'),
      sumWhere(sql`status between 200 and 299`).as('2xx'),
      sumWhere(sql`status between 300 and 399`).as('3xx'),
      sumWhere(sql`status between 400 and 499`).as('4xx'),
      sumWhere(sql`status between 500 and 599`).as('5xx'),
      sumWhere(sql`error_code = ${REFUSED_ERROR_CODE}`).as('refused'),
    ])
    .where('workspace_id', '=', scope.workspaceId)
    .where('hour', '>=', from)
    .where('hour', '<', to);
  if (scope.keyId !== undefined) query = query.where('key_id', '=', scope.keyId);
  return query.groupBy(['key_id', 'hour']);
}

/**
 * The hourly totals a scan needs (see ScanPrefilter): every hour of the keys that reach the spike floor
 * in an hour of the window, for their baselines, and of the other keys only the hours that could be a
 * burst or hold refusals. A workspace's quiet keys then cost the database a scan, not the wire and the parser.
 */
export function scanHourTotalsQuery(ex: QueryCreator<Database>, scope: UsageScope, from: Date, to: Date, filter: ScanPrefilter) {
  return ex
    .with('totals', (db) => hourTotalsQuery(db, scope, from, to))
    .with('spiking_keys', (db) =>
      db
        .selectFrom('totals')
        .select('key_id')
        .where('hour', '>=', filter.windowStart)
        .groupBy('key_id')
        .having((eb) => eb.fn.max('requests'), '>=', filter.minHourRequests),
    )
    .selectFrom('totals')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb('key_id', 'in', eb.selectFrom('spiking_keys').select('key_id')),
        eb.and([eb('hour', '>=', filter.windowStart), eb.or([eb('refused', '>', 0), eb(sql<number>`"4xx" - refused`, '>=', filter.minClientErrors)])]),
      ]),
    );
}

/**
 * The source IPs of calls refused by the IP allowlist, per key, day and IP, over the given stretches of
 * hours: the one read of audit_events. Each stretch is an index range on (created_at, id) or on
 * (key_id, id), ids being time-sortable, so the cost is the events of those hours (created_at also prunes
 * daily partitions), never the whole table.
 * `scans` must not be empty.
 */
export function refusedIpsQuery(ex: Executor, workspaceId: string, scans: readonly RefusalScan[]) {
  const day = sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')`;
  return ex
    .selectFrom('audit_events')
    .select([
      'key_id',
      'source_ip',
      day.as('day'),
      (eb) => eb.fn.min('created_at').as('first_seen'),
      (eb) => eb.fn.max('created_at').as('last_seen'),
      (eb) => eb.fn.countAll<number>().as('requests'),
    ])
    .where('workspace_id', '=', workspaceId)
    .where('error_code', '=', REFUSED_ERROR_CODE)
    .where((eb) =>
      eb.or(
        scans.map((scan) =>
          eb.and([
            eb('key_id', '=', scan.key_id),
            eb('id', '>=', eventIdBound(scan.from)),
            eb('id', '<', eventIdBound(scan.to)),
            eb('created_at', '>=', scan.from),
            eb('created_at', '<', scan.to),
          ]),
        ),
      ),
    )
    .groupBy(['key_id', 'source_ip', day]);
}

/**
 * Reads for usage and anomalies. Everything but refusedIps reads the rollups only, by the indexes
 * (key_id, hour, …) and (workspace_id, hour) / (key_id, day, …) and (workspace_id, day): a key's 30 days
 * is a few thousand rollup rows however many events they count.
 */
export function createUsageRepo() {
  return {
    async keysOf(ex: Executor, workspaceId: string): Promise<KeyInfo[]> {
      return ex.selectFrom('api_keys').select(['id', 'name', 'created_at']).where('workspace_id', '=', workspaceId).execute();
    },

    /** Requests per key and hour in [from, to), by status class, and those refused by the IP allowlist. */
    async hourTotals(ex: Executor, scope: UsageScope, from: Date, to: Date): Promise<HourTotals[]> {
      return (await hourTotalsQuery(ex, scope, from, to).execute()).map(toHourTotals);
    },

    /** The same, without the rows no rule could flag (see scanHourTotalsQuery). */
    async scanHourTotals(ex: Executor, scope: UsageScope, from: Date, to: Date, filter: ScanPrefilter): Promise<HourTotals[]> {
      return (await scanHourTotalsQuery(ex, scope, from, to, filter).execute()).map(toHourTotals);
    },

    /** The client errors (4xx) of these keys in [from, to), per hour, status and error code: evidence for bursts. */
    async errorCodes(ex: Executor, workspaceId: string, keyIds: readonly string[], from: Date, to: Date): Promise<ErrorCodeCount[]> {
      if (keyIds.length === 0) return [];
      const rows = await ex
        .selectFrom('audit_usage_hourly')
        .select(['key_id', 'hour', 'status', 'error_code', (eb) => eb.fn.sum<number>('requests').as('requests')])
        .where('workspace_id', '=', workspaceId)
        .where('key_id', 'in', keyIds)
        .where('hour', '>=', from)
        .where('hour', '<', to)
        .where('status', '>=', 400)
        .where('status', '<', 500)
        .groupBy(['key_id', 'hour', 'status', 'error_code'])
        .execute();
      return rows.map((r) => ({ ...r, requests: toCount(r.requests) }));
    },

    /** One key's requests in [from, to) per route, scope used and whether they failed (status ≥ 400). */
    async routeTotals(ex: Executor, keyId: string, from: Date, to: Date): Promise<RouteTotal[]> {
      const rows = await ex
        .selectFrom('audit_usage_hourly')
        .select(['route', 'scope_used', sql<boolean>`status >= 400`.as('failed'), (eb) => eb.fn.sum<number>('requests').as('requests')])
        .where('key_id', '=', keyId)
        .where('hour', '>=', from)
        .where('hour', '<', to)
        .groupBy(['route', 'scope_used', sql`status >= 400`])
        .execute();
      return rows.map((r) => ({ ...r, requests: toCount(r.requests) }));
    },

    /** audit_ip_daily rows from `fromDay` to `toDay`, both included. */
    async ipDays(ex: Executor, scope: UsageScope, fromDay: string, toDay: string): Promise<IpDay[]> {
      let query = ex
        .selectFrom('audit_ip_daily')
        .select(['key_id', 'day', 'source_ip', 'first_seen', 'last_seen', 'requests'])
        .where('workspace_id', '=', scope.workspaceId)
        .where('day', '>=', fromDay)
        .where('day', '<=', toDay);
      if (scope.keyId !== undefined) query = query.where('key_id', '=', scope.keyId);
      const rows = await query.execute();
      return rows.map((r) => ({ ...r, requests: toCount(r.requests) }));
    },

    /** The stored findings (src/anomalies/) of these fingerprints in the workspace: their id and status. */
    async findingsOf(ex: Executor, workspaceId: string, fingerprints: readonly string[]): Promise<Map<string, { id: string; status: string }>> {
      if (fingerprints.length === 0) return new Map();
      const rows = await ex
        .selectFrom('anomaly_findings')
        .select(['fingerprint', 'id', 'status'])
        .where('workspace_id', '=', workspaceId)
        .where('fingerprint', 'in', fingerprints)
        .execute();
      return new Map(rows.map((r) => [r.fingerprint, { id: r.id, status: r.status }]));
    },

    /** The source IPs of calls refused by the IP allowlist, per key, day and IP (see refusedIpsQuery). */
    async refusedIps(ex: Executor, workspaceId: string, scans: readonly RefusalScan[]): Promise<IpDay[]> {
      if (scans.length === 0) return [];
      const rows = await refusedIpsQuery(ex, workspaceId, scans).execute();
      return rows.flatMap((r) =>
        r.key_id === null
          ? []
          : [{ key_id: r.key_id, day: r.day, source_ip: r.source_ip, first_seen: new Date(r.first_seen), last_seen: new Date(r.last_seen), requests: toCount(r.requests) }],
      );
    },
  };
}

export type UsageRepo = ReturnType<typeof createUsageRepo>;
