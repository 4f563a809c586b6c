/**
 * A big audit log for one workspace, filled in SQL (set-based: INSERT … SELECT generate_series), for the
 * audit benchmarks (bench/audit-queries.ts, bench/scale.ts): events over the 30 days before `now`, one
 * busy key with 80% of them and 19 lighter keys, a few planted anomalies, and the rollups the audit writer
 * would have kept (INSERT … SELECT … GROUP BY).
 */
import { sql } from 'kysely';
import type { Db } from '../src/db/client.js';
import { partitionName, startOfUtcDay, DAYS_AHEAD } from '../src/audit/retention.js';
import { DAY_MS, HOUR_MS, dayOf } from '../src/audit/hours.js';
import { burstHours, detectAnomalies, hourlyRowsFrom, ipDaysFrom, refusalScans, scanPrefilter } from '../src/audit/anomalies.js';
import { createUsageRepo } from '../src/audit/usage-repo.js';

export const WORKSPACE = 'ws_bench';
export const BUSY_KEY = 'key_busy';
export const OTHER_KEYS = 19;

/** Events per INSERT: one statement (and its WAL) per chunk rather than one for the whole fill. */
const CHUNK = 1_000_000;

/**
 * The setup: a base32 time encoder (ids as the app makes them: creation time in sortable base32, then
 * 16 more characters, so that the (key_id, id) index serves time ranges as it does for real events), the
 * bench user, workspace and its 20 keys.
 */
const SETUP = `
  create or replace function bench_time32(ms bigint) returns text language sql immutable as $$
    select string_agg(substr('0123456789abcdefghjkmnpqrstvwxyz', ((ms >> (5 * (9 - i))) & 31)::int + 1, 1), '' order by i)
    from generate_series(0, 9) as i
  $$;

  insert into users (id, email, password_hash) values ('usr_bench', 'bench@example.com', 'x');
  insert into workspaces (id, name, ceiling_per_minute, ceiling_per_hour) values ('${WORKSPACE}', 'Bench', 1000000, 60000000);
  insert into memberships (workspace_id, user_id, role) values ('${WORKSPACE}', 'usr_bench', 'owner');
  insert into api_keys (id, workspace_id, name, mode, prefix, scopes, rate_limit_per_minute, ip_allowlist, created_by, created_at)
  select k.id, '${WORKSPACE}', k.name, 'live', 'lk_live_bench…',
         array['conversations:read', 'conversations:write', 'contacts:read', 'contacts:write', 'tickets:read', 'tickets:write'],
         6000, case when k.id = '${BUSY_KEY}' then array['203.0.113.0/24'] else '{}' end, 'usr_bench', :now - interval '30 days'
  from (select '${BUSY_KEY}' as id, 'data-warehouse-export' as name
        union all select 'key_other_' || i, 'integration-' || i from generate_series(1, ${OTHER_KEYS}) as i) as k;
`;

/**
 * Calls :lo…:hi of :events, evenly over the 30 days before :now: 80% by the busy key on 8 routes from 3
 * IPs, the rest by 19 keys on 2 routes each from one IP; 2% 404, 1% 429, 0.5% 403 insufficient_scope.
 */
const EVENTS = `
  insert into audit_events (id, created_at, workspace_id, mode, key_id, key_name, method, route, path, status, latency_ms,
                            source_ip, user_agent, request_id, error_code, scope, argument_hash)
  select 'evt_' || bench_time32((extract(epoch from t) * 1000)::bigint) || substr(md5(n::text), 1, 16), t, '${WORKSPACE}', 'live',
         key_id, key_id, 'GET', route, route, status, 0.3 + (n % 7) * 0.1, ip, 'bench', 'req_' || n, error_code,
         replace(replace(substr(route, 9), '/{id}', ''), '/', '') || ':read', md5(n::text)
  from (
    select n, t, key_id,
           case when key_id = '${BUSY_KEY}' then routes[1 + n % 8] else routes[1 + (k + n % 2) % 8] end as route,
           case when n % 50 = 0 then 404 when n % 100 = 1 then 429 when n % 200 = 3 then 403 else 200 end as status,
           case when n % 50 = 0 then 'not_found' when n % 100 = 1 then 'rate_limited' when n % 200 = 3 then 'insufficient_scope' end as error_code,
           case when key_id = '${BUSY_KEY}' then '203.0.113.' || (1 + n % 3) else '198.18.0.' || k end as ip
    from (
      select n, :now - interval '30 days' + (n * interval '30 days' / :events) as t,
             case when n % 5 = 0 then 'key_other_' || (1 + (n / 5) % ${OTHER_KEYS}) else '${BUSY_KEY}' end as key_id,
             1 + (n / 5) % ${OTHER_KEYS} as k,
             array['/api/v1/conversations', '/api/v1/conversations/{id}', '/api/v1/contacts', '/api/v1/contacts/{id}',
                   '/api/v1/tickets', '/api/v1/tickets/{id}', '/api/v1/accounts', '/api/v1/policies'] as routes
      from generate_series(:lo, :hi) as n
    ) as base
  ) as calls;
`;

/**
 * Planted: a spike (20,000 extra calls in one hour, 2 days ago), refusals by the allowlist from two
 * foreign IPs in 5 hours over the last week, and a burst of 401s on one light key.
 */
const PLANTED = `
  insert into audit_events (id, created_at, workspace_id, mode, key_id, key_name, method, route, path, status, latency_ms,
                            source_ip, user_agent, request_id, error_code, scope, argument_hash)
  select 'evt_' || bench_time32((extract(epoch from t) * 1000)::bigint) || substr(md5('p' || n), 1, 16), t, '${WORKSPACE}', 'live',
         key_id, key_id, 'GET', '/api/v1/contacts', '/api/v1/contacts', status, 0.4, ip, 'bench', 'req_p' || n, error_code,
         'contacts:read', md5('p' || n)
  from (
    select n, key_id, status, error_code, ip, t from (
      select n, '${BUSY_KEY}' as key_id, 200 as status, null as error_code, '203.0.113.1' as ip,
             date_trunc('hour', :now - interval '2 days') + (n * interval '1 hour' / 20001) as t
      from generate_series(1, 20000) as n
      union all
      select 100000 + n, '${BUSY_KEY}', 403, 'ip_not_allowed', '192.0.2.' || (66 + n % 2),
             date_trunc('hour', :now - (1 + n % 5) * interval '31 hours') + (n * interval '1 second')
      from generate_series(1, 200) as n
      union all
      select 200000 + n, 'key_other_7', 401, 'api_key_revoked', '198.18.0.7',
             date_trunc('hour', :now - interval '5 hours') + (n * interval '5 seconds')
      from generate_series(1, 500) as n
    ) as planted
  ) as planted_calls;
`;

/** The rollups as the writer keeps them, from one table (a day partition, or all of audit_events): scope_used only for calls that passed every check. */
const ROLLUPS = `
  insert into audit_usage_hourly (workspace_id, key_id, hour, route, status, error_code, scope_used, requests)
  select workspace_id, key_id, date_trunc('hour', created_at at time zone 'UTC') at time zone 'UTC', coalesce(route, '(unknown route)'),
         status, coalesce(error_code, ''), case when status < 400 or error_code = 'not_found' then scope else '' end, count(*)
  from :table group by 1, 2, 3, 4, 5, 6, 7;

  insert into audit_ip_daily (workspace_id, key_id, day, source_ip, first_seen, last_seen, requests)
  select workspace_id, key_id, (created_at at time zone 'UTC')::date, source_ip, min(created_at), max(created_at), count(*)
  from :table group by 1, 2, 3, 4;
`;

export interface FillOptions {
  /** Calls spread over the 30 days before `now` (the planted 20,700 come on top). */
  events: number;
  /** The fill's "now": events end here, and the queries should use it as their clock. */
  now: Date;
  /**
   * Create the day partitions retention would have made (the 31 days of events and DAYS_AHEAD after
   * today) before inserting, so that events sit in them as in production; otherwise every event lands in
   * the default partition.
   */
  partitioned?: boolean;
  /** Progress lines, as the fill goes. */
  progress?: (message: string) => void;
  /** VACUUM (ANALYZE) at the end, as autovacuum would have done by then (sets the visibility map); else ANALYZE only. */
  vacuum?: boolean;
}

export interface FillTimes {
  setupMs: number;
  eventsMs: number;
  rollupsMs: number;
  analyzeMs: number;
  totalMs: number;
  partitions: number;
}

async function timedMs(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Fills a freshly migrated database; returns how long each part took. */
export async function fillAuditLog(db: Db, options: FillOptions): Promise<FillTimes> {
  const { events, now } = options;
  const say = options.progress ?? (() => {});
  const bind = (text: string) => text.replaceAll(':now', `'${now.toISOString()}'::timestamptz`).replaceAll(':events', String(events));
  const run = (text: string) => sql.raw(bind(text)).execute(db);

  const started = process.hrtime.bigint();
  const days: Date[] = [];
  const setupMs = await timedMs(async () => {
    await run(SETUP);
    if (!options.partitioned) return;
    const today = startOfUtcDay(now).getTime();
    for (let day = startOfUtcDay(new Date(now.getTime() - 31 * DAY_MS)).getTime(); day <= today + DAYS_AHEAD * DAY_MS; day += DAY_MS) {
      const date = new Date(day);
      days.push(date);
      const to = new Date(day + DAY_MS);
      await sql`create table ${sql.id(partitionName('audit_events', date))} partition of audit_events
                for values from (${sql.lit(date.toISOString())}) to (${sql.lit(to.toISOString())})`.execute(db);
    }
  });

  const eventsMs = await timedMs(async () => {
    for (let lo = 1; lo <= events; lo += CHUNK) {
      const hi = Math.min(events, lo + CHUNK - 1);
      await run(EVENTS.replaceAll(':lo', String(lo)).replaceAll(':hi', String(hi)));
      say(`  events ${hi.toLocaleString('en-US')} / ${events.toLocaleString('en-US')}`);
    }
    await run(PLANTED);
  });

  const rollupsMs = await timedMs(async () => {
    const tables = options.partitioned ? [...days.map((d) => partitionName('audit_events', d)), 'audit_events_default'] : ['audit_events'];
    for (const table of tables) await run(ROLLUPS.replaceAll(':table', table));
    say(`  rollups from ${tables.length} table(s)`);
  });

  const analyzeMs = await timedMs(() => sql.raw(options.vacuum ? 'vacuum (analyze)' : 'analyze').execute(db));
  return { setupMs, eventsMs, rollupsMs, analyzeMs, totalMs: Number(process.hrtime.bigint() - started) / 1e6, partitions: days.length };
}

export interface ScanStep {
  name: string;
  ms: number;
  rows: string;
}

/**
 * The workspace anomaly scan's steps one by one, as the usage service runs them (there, the first three
 * and the next two run in parallel): each timed once, warm, with what it returned. Shows which step a
 * slow scan spends its time in.
 */
export async function scanSteps(db: Db, workspaceId: string, window: { from: Date; to: Date }): Promise<ScanStep[]> {
  const repo = createUsageRepo();
  const scope = { workspaceId };
  const steps: ScanStep[] = [];
  const step = async <T>(name: string, work: () => Promise<T>, rows: (result: T) => string): Promise<T> => {
    await work();
    const start = process.hrtime.bigint();
    const result = await work();
    steps.push({ name, ms: Number(process.hrtime.bigint() - start) / 1e6, rows: rows(result) });
    return result;
  };
  const hours = await step('hourly totals (scanHourTotals, the prefiltered rollup read)', () => repo.scanHourTotals(db, scope, hourlyRowsFrom(window), window.to, scanPrefilter(window)), (r) => `${r.length} key-hours`);
  const ipDays = await step('IP days (ipDays)', () => repo.ipDays(db, scope, ipDaysFrom(window), dayOf(window.to)), (r) => `${r.length} rows`);
  const keys = await step('keys (keysOf)', () => repo.keysOf(db, workspaceId), (r) => `${r.length} keys`);
  const scans = refusalScans(hours, window);
  const bursts = burstHours(hours, window);
  const refusedIps = await step('refused calls\' IPs (refusedIps, audit_events)', () => repo.refusedIps(db, workspaceId, scans), (r) => `${r.length} rows over ${scans.length} ranges`);
  const burstKeys = [...new Set(bursts.map((b) => b.key_id))];
  const burstFrom = new Date(Math.min(...bursts.map((b) => b.hour.getTime())));
  const burstTo = new Date(Math.max(...bursts.map((b) => b.hour.getTime())) + HOUR_MS);
  const burstCodes = await step(
    `burst hours' error codes (errorCodes)`,
    async () => (bursts.length === 0 ? [] : repo.errorCodes(db, workspaceId, burstKeys, burstFrom, burstTo)),
    (r) => `${r.length} rows for ${bursts.length} burst hours of ${burstKeys.length} key(s)`,
  );
  await step('the rules in JS (detectAnomalies)', async () => detectAnomalies({ window, keys, hours, burstCodes, ipDays, refusedIps, scans }), (r) => `${r.length} anomalies`);
  return steps;
}
