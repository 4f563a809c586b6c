/**
 * Do a key's usage and the anomaly scan stay fast on a big audit log? On PostgreSQL, a fresh database
 * gets 1M audit events for one workspace over 30 days (one busy key with 80% of them, 19 lighter keys,
 * and a few planted anomalies), the rollups the audit writer would have kept (built with one
 * INSERT … SELECT … GROUP BY each), then the usage of the busy key and the workspace's 30-day anomaly scan
 * are timed through the service (SQL and the rules), median of several runs after a warm-up.
 *
 *   node --import tsx bench/audit-queries.ts [--events 1000000] [--runs 5] [--keep]
 *
 * Needs PostgreSQL at postgres://postgres@127.0.0.1:5432 (or TEST_DATABASE_URL); the database is dropped
 * afterwards. Report: bench/results/audit-queries.md.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CompiledQuery, sql } from 'kysely';
import { createUsageRepo, refusedIpsQuery, scanHourTotalsQuery } from '../src/audit/usage-repo.js';
import { createUsageService } from '../src/audit/usage-service.js';
import { burstHours, detectAnomalies, hourlyRowsFrom, ipDaysFrom, refusalScans, scanPrefilter } from '../src/audit/anomalies.js';
import { DAY_MS, dayOf } from '../src/audit/hours.js';
import { openDatabase, type Db } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { createKeysRepo } from '../src/keys/keys-repo.js';
import { createTestDatabase } from '../test/services.js';
import { loadavg } from 'node:os';
import { machine, ROOT } from './lib.js';

const TARGET_MS = 200;
const WORKSPACE = 'ws_bench';
const BUSY_KEY = 'key_busy';
const OTHER_KEYS = 19;

const { values: flags } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '5' },
    // Leaves the database in place (its URL is printed) to study a query; drop it yourself afterwards.
    keep: { type: 'boolean', default: false },
  },
});
const EVENTS = Number(flags.events);
const RUNS = Number(flags.runs);
if (!Number.isInteger(EVENTS) || EVENTS < 1000) throw new Error('--events must be a whole number of at least 1000');
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs must be a whole number above 0');

/**
 * The fill, in SQL: ids as the app makes them (creation time in sortable base32, then 16 more characters),
 * so that the (key_id, id) index serves time ranges as it does for real events.
 */
const FILL = `
  create function bench_time32(ms bigint) returns text language sql immutable as $$
    select string_agg(substr('0123456789abcdefghjkmnpqrstvwxyz', ((ms >> (5 * (9 - i))) & 31)::int + 1, 1), '' order by i)
    from generate_series(0, 9) as i
  $$;

  insert into users (id, email, password_hash) values ('usr_bench', 'bench@example.com', 'x');
  insert into workspaces (id, name, ceiling_per_minute, ceiling_per_hour) values ('${WORKSPACE}', 'Bench', 1000000, 60000000);
  insert into memberships (workspace_id, user_id, role) values ('${WORKSPACE}', 'usr_bench', 'owner');
  insert into api_keys (id, workspace_id, name, mode, prefix, scopes, rate_limit_per_minute, ip_allowlist, created_by, created_at)
  select k.id, '${WORKSPACE}', k.name, 'live', 'lk_live_bench…',
         array['conversations:read', 'conversations:write', 'contacts:read', 'contacts:write', 'tickets:read', 'tickets:write'],
         6000, case when k.id = '${BUSY_KEY}' then array['203.0.113.0/24'] else '{}' end, 'usr_bench', now() - interval '30 days'
  from (select '${BUSY_KEY}' as id, 'data-warehouse-export' as name
        union all select 'key_other_' || i, 'integration-' || i from generate_series(1, ${OTHER_KEYS}) as i) as k;

  -- :events calls evenly over the last 30 days: 80% by the busy key on 8 routes from 3 IPs, the rest by
  -- 19 keys on 2 routes each from one IP; 2% 404, 1% 429, 0.5% 403 insufficient_scope.
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
      select n, now() - interval '30 days' + (n * interval '30 days' / :events) as t,
             case when n % 5 = 0 then 'key_other_' || (1 + (n / 5) % ${OTHER_KEYS}) else '${BUSY_KEY}' end as key_id,
             1 + (n / 5) % ${OTHER_KEYS} as k,
             array['/api/v1/conversations', '/api/v1/conversations/{id}', '/api/v1/contacts', '/api/v1/contacts/{id}',
                   '/api/v1/tickets', '/api/v1/tickets/{id}', '/api/v1/accounts', '/api/v1/policies'] as routes
      from generate_series(1, :events) as n
    ) as base
  ) as calls;

  -- Planted: a spike (20,000 extra calls in one hour, 2 days ago), refusals by the allowlist from two foreign
  -- IPs in 5 hours over the last week, and a burst of 401s on one light key.
  insert into audit_events (id, created_at, workspace_id, mode, key_id, key_name, method, route, path, status, latency_ms,
                            source_ip, user_agent, request_id, error_code, scope, argument_hash)
  select 'evt_' || bench_time32((extract(epoch from t) * 1000)::bigint) || substr(md5('p' || n), 1, 16), t, '${WORKSPACE}', 'live',
         key_id, key_id, 'GET', '/api/v1/contacts', '/api/v1/contacts', status, 0.4, ip, 'bench', 'req_p' || n, error_code,
         'contacts:read', md5('p' || n)
  from (
    select n, key_id, status, error_code, ip, t from (
      select n, '${BUSY_KEY}' as key_id, 200 as status, null as error_code, '203.0.113.1' as ip,
             date_trunc('hour', now() - interval '2 days') + (n * interval '1 hour' / 20001) as t
      from generate_series(1, 20000) as n
      union all
      select 100000 + n, '${BUSY_KEY}', 403, 'ip_not_allowed', '192.0.2.' || (66 + n % 2),
             date_trunc('hour', now() - (1 + n % 5) * interval '31 hours') + (n * interval '1 second')
      from generate_series(1, 200) as n
      union all
      select 200000 + n, 'key_other_7', 401, 'api_key_revoked', '198.18.0.7',
             date_trunc('hour', now() - interval '5 hours') + (n * interval '5 seconds')
      from generate_series(1, 500) as n
    ) as planted
  ) as planted_calls;

  -- The rollups as the writer keeps them: scope_used only for calls that passed every check.
  insert into audit_usage_hourly (workspace_id, key_id, hour, route, status, error_code, scope_used, requests)
  select workspace_id, key_id, date_trunc('hour', created_at at time zone 'UTC') at time zone 'UTC', coalesce(route, '(unknown route)'),
         status, coalesce(error_code, ''), case when status < 400 or error_code = 'not_found' then scope else '' end, count(*)
  from audit_events group by 1, 2, 3, 4, 5, 6, 7;

  insert into audit_ip_daily (workspace_id, key_id, day, source_ip, first_seen, last_seen, requests)
  select workspace_id, key_id, (created_at at time zone 'UTC')::date, source_ip, min(created_at), max(created_at), count(*)
  from audit_events group by 1, 2, 3, 4;

  analyze;
`;

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const start = process.hrtime.bigint();
  const result = await work();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

interface Measurement {
  name: string;
  runs: number[];
  detail: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function measure(name: string, work: () => Promise<string>): Promise<Measurement> {
  const warmup = await timed(work);
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) runs.push((await timed(work)).ms);
  const result: Measurement = { name, runs, detail: warmup.result };
  process.stdout.write(`${name}: median ${median(runs).toFixed(1)} ms (${runs.map((r) => r.toFixed(1)).join(', ')}) — ${warmup.result}\n`);
  return result;
}

async function counts(db: Db) {
  const row = async (table: string) =>
    Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]?.n ?? 0);
  return {
    events: await row('audit_events'),
    hourly: await row('audit_usage_hourly'),
    ipDaily: await row('audit_ip_daily'),
    version: (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(db)).rows[0]?.v ?? '?',
  };
}

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const { db } = openDatabase({ databaseUrl: database.url, poolSize: 4 });
  try {
    await migrateToLatest(db);
    process.stdout.write(`filling ${EVENTS.toLocaleString('en-US')} events…\n`);
    const fill = await timed(() => sql.raw(FILL.replaceAll(':events', String(EVENTS))).execute(db));
    const sizes = await counts(db);
    process.stdout.write(`filled in ${(fill.ms / 1000).toFixed(1)} s: ${JSON.stringify(sizes)}\n`);
    const loadBefore = loadavg()[0] ?? 0;

    const now = new Date();
    const repo = createUsageRepo();
    const service = createUsageService({ db, repo, keys: createKeysRepo(), now: () => now });
    const month = { from: new Date(now.getTime() - 30 * DAY_MS), to: now };
    const workspace = { workspaceId: WORKSPACE };
    const busy = { workspaceId: WORKSPACE, keyId: BUSY_KEY };

    const headline = [
      await measure('usage of the busy key, 30 days', async () => {
        const usage = await service.usage(WORKSPACE, BUSY_KEY, 30);
        return `${usage.totals.total.toLocaleString('en-US')} requests, ${usage.top_routes.length} routes, ${usage.source_ips.count} IPs, ${usage.anomalies.length} anomalies`;
      }),
      await measure('anomaly scan of the workspace, 30 days', async () => {
        const scan = await service.anomalies(WORKSPACE, month);
        const types = new Map<string, number>();
        for (const a of scan.data) types.set(a.type, (types.get(a.type) ?? 0) + 1);
        return `${scan.data.length} anomalies: ${[...types].map(([t, n]) => `${n} ${t}`).join(', ')}`;
      }),
    ];

    const scanHours = await repo.scanHourTotals(db, workspace, hourlyRowsFrom(month), now, scanPrefilter(month));
    const scans = refusalScans(scanHours, month);
    const bursts = burstHours(scanHours, month);
    const [scanIpDays, refusedIps, burstCodes, scanKeys] = await Promise.all([
      repo.ipDays(db, workspace, ipDaysFrom(month), dayOf(now)),
      repo.refusedIps(db, WORKSPACE, scans),
      repo.errorCodes(db, WORKSPACE, [...new Set(bursts.map((b) => b.key_id))], month.from, now),
      repo.keysOf(db, WORKSPACE),
    ]);
    const parts = [
      await measure('  workspace hourly totals (37 days), as the scan reads them', async () => {
        return `${(await repo.scanHourTotals(db, workspace, hourlyRowsFrom(month), now, scanPrefilter(month))).length} rows`;
      }),
      await measure('  workspace hourly totals (37 days), every row', async () => `${(await repo.hourTotals(db, workspace, hourlyRowsFrom(month), now)).length} rows`),
      await measure('  workspace IP days (60 days)', async () => `${(await repo.ipDays(db, workspace, ipDaysFrom(month), dayOf(now))).length} rows`),
      await measure('  refused calls\' IPs (audit_events)', async () => `${(await repo.refusedIps(db, WORKSPACE, scans)).length} rows over ${scans.length} ranges`),
      await measure('  error codes of the burst hours\' keys', async () => {
        const keys = [...new Set(bursts.map((b) => b.key_id))];
        return `${(await repo.errorCodes(db, WORKSPACE, keys, month.from, now)).length} rows for ${keys.length} key(s)`;
      }),
      await measure('  the rules in JS (detectAnomalies) over the scan\'s rows', async () => {
        const found = detectAnomalies({ window: month, keys: scanKeys, hours: scanHours, burstCodes, ipDays: scanIpDays, refusedIps, scans });
        return `${found.length} anomalies`;
      }),
      await measure('  busy key hourly totals (37 days)', async () => `${(await repo.hourTotals(db, busy, hourlyRowsFrom(month), now)).length} rows`),
      await measure('  busy key route totals (30 days)', async () => `${(await repo.routeTotals(db, BUSY_KEY, month.from, now)).length} rows`),
    ];

    const plans = {
      hourly: await explain(db, scanHourTotalsQuery(db, workspace, hourlyRowsFrom(month), now, scanPrefilter(month)).compile()),
      refused: await explain(db, refusedIpsQuery(db, WORKSPACE, scans).compile()),
    };

    await writeReport({ sizes, fillMs: fill.ms, main: headline, parts, plans, load: [loadBefore, loadavg()[0] ?? 0] });
  } finally {
    await db.destroy();
    if (flags.keep) process.stdout.write(`kept the database: ${database.url}\n`);
    else await database.drop();
  }
}

async function explain(db: Db, query: CompiledQuery): Promise<string> {
  const result = await db.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain (analyze, buffers) ${query.sql}`, [...query.parameters]));
  return result.rows.map((row) => row['QUERY PLAN']).join('\n');
}

async function writeReport(report: {
  sizes: Awaited<ReturnType<typeof counts>>;
  fillMs: number;
  main: Measurement[];
  parts: Measurement[];
  plans: { hourly: string; refused: string };
  load: number[];
}) {
  const { node, cpu, cores } = machine();
  const row = (m: Measurement) =>
    `| ${m.name.trim()} | ${median(m.runs).toFixed(1)} | ${Math.min(...m.runs).toFixed(1)} | ${Math.max(...m.runs).toFixed(1)} | ${m.detail} |`;
  const verdict = (m: Measurement) => `${m.name}: **${median(m.runs).toFixed(1)} ms**, target < ${TARGET_MS} ms: **${median(m.runs) < TARGET_MS ? 'met' : 'missed'}**`;
  const text = `# Audit queries: a key's usage and the anomaly scan

- Date: ${new Date().toISOString()}
- Command: \`node --import tsx bench/audit-queries.ts --events ${EVENTS} --runs ${RUNS}\`
- Node ${node}; CPU: ${cpu} (${cores} cores available); PostgreSQL ${report.sizes.version} on the same machine
- Machine load (1-minute average) before and after the measurements: ${report.load.map((l) => l.toFixed(1)).join(' → ')}
  (a load above the number of cores means other work competed for the CPU and inflated the times)
- Data: ${report.sizes.events.toLocaleString('en-US')} audit events for one workspace over 30 days (80% by one busy key on 8 routes from 3 IPs,
  the rest by ${OTHER_KEYS} keys; 2% 404, 1% 429, 0.5% 403), plus planted anomalies (a 20,000-call hour, 200 calls refused by the
  allowlist in 5 hours, 500 401s in one hour); rollups built from them with INSERT … SELECT … GROUP BY:
  ${report.sizes.hourly.toLocaleString('en-US')} audit_usage_hourly rows, ${report.sizes.ipDaily.toLocaleString('en-US')} audit_ip_daily rows. Fill: ${(report.fillMs / 1000).toFixed(1)} s.
- The benchmark does not run retention, which makes the daily partitions: every event sits in audit_events' default partition.
- Timed through the service (the SQL and the rules in JS, as the routes call them, without HTTP): one warm-up, then ${RUNS} runs.

## Result

${report.main.map(verdict).join('\n')}

| measured | median ms | min ms | max ms | answer |
| --- | --- | --- | --- | --- |
${report.main.map(row).join('\n')}

## The queries on their own

| query | median ms | min ms | max ms | rows |
| --- | --- | --- | --- | --- |
${report.parts.map(row).join('\n')}

The usage runs "busy key hourly totals", "busy key route totals", "IP days" (one key) and, when the rollups show
refusals or bursts, the refused calls' IPs and the bursts' error codes; the scan runs the workspace's hourly
totals (as the scan reads them), IP days and keys (in parallel), then the refused IPs and error codes (in
parallel) when needed. "Every row" shows what the prefilter saves the wire and the parser.

## Plans

The workspace's hourly totals as the scan reads them (the largest read of the scan): every hour of the keys
that reach the spike floor in the window, and of other keys only hours with refusals or a burst's count of 4xx:

\`\`\`
${report.plans.hourly}
\`\`\`

The one read of audit_events (refused calls' IPs), one index range per stretch of refused hours:

\`\`\`
${report.plans.refused}
\`\`\`
`;
  const dir = join(ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'audit-queries.md'), text);
  process.stdout.write(`wrote ${join('bench', 'results', 'audit-queries.md')}\n`);
}

await main();
