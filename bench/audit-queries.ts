/**
 * Do a key's usage and the anomaly scan stay fast on a big audit log? On PostgreSQL, a fresh database
 * gets 1M audit events for one workspace over 30 days (one busy key with 80% of them, 19 lighter keys,
 * and a few planted anomalies), the rollups the audit writer would have kept (built with one
 * INSERT … SELECT … GROUP BY each; the fill is bench/audit-fill.ts, shared with bench/scale.ts), then the usage of the busy key and the workspace's 30-day anomaly scan
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
import { BUSY_KEY, fillAuditLog, OTHER_KEYS, WORKSPACE } from './audit-fill.js';
import { machine, ROOT } from './lib.js';

const TARGET_MS = 200;

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
    const now = new Date();
    const fill = await timed(() => fillAuditLog(db, { events: EVENTS, now }));
    const sizes = await counts(db);
    process.stdout.write(`filled in ${(fill.ms / 1000).toFixed(1)} s: ${JSON.stringify(sizes)}\n`);
    const loadBefore = loadavg()[0] ?? 0;

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
