/**
 * Benchmark 6 of issue 6, scale: PostgreSQL holding 1M API keys and 10M audit events.
 *
 *   node --import tsx bench/scale.ts [--keys 1000000] [--events 10000000] [--runs 5] [--lookups 5000]
 *                                    [--sample 10000] [--export-rows 1000000] [--keep]
 *
 * On a fresh database (dropped afterwards unless --keep):
 * 1. the audit log: --events calls over 30 days for one workspace (bench/audit-fill.ts, in the day
 *    partitions retention would have made), the rollups, then VACUUM (ANALYZE) as autovacuum would;
 * 2. keys: first 1,000 real ones (bench/seed-keys.ts: real secrets, only their SHA-256 stored), and the
 *    hot path's cache-miss lookup (findBySecretHash, in-process) timed for --lookups random known secrets
 *    and as many unknown ones; then up to --keys keys (--sample real ones spread among the rest, which get
 *    random hashes in SQL, in 1,000 workspaces), and the same lookups again, each known secret once;
 * 3. a key's 30-day usage and the workspace's anomaly scan through the service (median of --runs after a
 *    warm-up; target < 200 ms each); a slow one gets EXPLAIN (ANALYZE, BUFFERS) of its queries;
 * 4. the audit export through the service (NDJSON and CSV, newest first over the 30 days, --export-rows
 *    events): events/s and MB/s;
 * 5. bytes on disk: audit_events (every partition, with indexes and TOAST) per event, the rollups, and
 *    api_keys + api_key_secrets per key; how long each part of the fill took; the database's size.
 *
 * Needs PostgreSQL at postgres://postgres@127.0.0.1:5432 (or TEST_DATABASE_URL). Report: bench/results/scale.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CompiledQuery, sql, type KyselyPlugin, type QueryId, type RootOperationNode } from 'kysely';
import { createAuditSearchRepo } from '../src/audit/audit-search-repo.js';
import { createAuditSearchService } from '../src/audit/audit-search-service.js';
import { encodeExport, type ExportFormat } from '../src/audit/export.js';
import { DAY_MS } from '../src/audit/hours.js';
import { createUsageRepo, scanHourTotalsQuery } from '../src/audit/usage-repo.js';
import { createUsageService } from '../src/audit/usage-service.js';
import { hourlyRowsFrom, scanPrefilter } from '../src/audit/anomalies.js';
import { openDatabase, type Db } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { createKeysRepo } from '../src/keys/keys-repo.js';
import { hashSecret } from '../src/keys/key-format.js';
import { createTestDatabase } from '../test/services.js';
import { BUSY_KEY, fillAuditLog, OTHER_KEYS, scanSteps, WORKSPACE, type FillTimes, type ScanStep } from './audit-fill.js';
import { ensureBuilt, machine, ROOT } from './lib.js';
import { freePort, startServer, type RunningServer } from '../test/process.js';
import { seedKeys } from './seed-keys.js';

const TARGET_MS = 200;
/** Keys of the "1k keys" measurement. */
const SMALL_KEYS = 1000;
/** The bulk keys are spread over this many workspaces (the real ones sit in one more). */
const KEY_WORKSPACES = 1000;
const KEY_SCOPES = ['conversations:read', 'contacts:read', 'tickets:read'];
/** Random keys per INSERT. */
const KEY_CHUNK = 100_000;

const { values: flags } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    events: { type: 'string', default: '10000000' },
    runs: { type: 'string', default: '5' },
    lookups: { type: 'string', default: '5000' },
    sample: { type: 'string', default: '10000' },
    'export-rows': { type: 'string', default: '1000000' },
    // Leaves the database in place (its URL is printed) to study a query; drop it yourself afterwards.
    keep: { type: 'boolean', default: false },
  },
});

function whole(name: string, min: number): number {
  const value = Number(flags[name as keyof typeof flags]);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number of at least ${min}`);
  return value;
}
const KEYS = whole('keys', SMALL_KEYS);
const EVENTS = whole('events', 1000);
const RUNS = whole('runs', 1);
const LOOKUPS = whole('lookups', 100);
const SAMPLE = Math.min(KEYS, Math.max(SMALL_KEYS, whole('sample', 1)));
const EXPORT_ROWS = whole('export-rows', 1000);

const say = (line: string) => process.stdout.write(`${line}\n`);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const ms3 = (value: number) => value.toFixed(3);
const n = (value: number) => value.toLocaleString('en-US');

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const start = process.hrtime.bigint();
  const result = await work();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function shuffled<T>(values: readonly T[]): T[] {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Keys

/** The workspaces the keys live in: one for the real keys, KEY_WORKSPACES for the bulk. */
async function keyWorkspaces(db: Db): Promise<string> {
  await sql.raw(`
    insert into workspaces (id, name, ceiling_per_minute, ceiling_per_hour)
    select 'ws_keys_' || w, 'Keys ' || w, 1000000, 60000000 from generate_series(0, ${KEY_WORKSPACES}) as w;
    insert into memberships (workspace_id, user_id, role)
    select 'ws_keys_' || w, 'usr_bench', 'owner' from generate_series(0, ${KEY_WORKSPACES}) as w;
  `).execute(db);
  return 'ws_keys_0';
}

/**
 * Keys lo…hi with random secrets nobody knows (their hash: SHA-256 of a counter), shaped as the service
 * stores them: ids as newId makes them, a display prefix, three scopes; one version each.
 */
async function insertRandomKeys(db: Db, lo: number, hi: number, now: Date): Promise<void> {
  await sql.raw(`
    with k as (
      insert into api_keys (id, workspace_id, name, mode, prefix, scopes, rate_limit_per_minute, ip_allowlist, created_by, created_at)
      select 'key_' || bench_time32(ms) || substr(md5('k' || i), 1, 16), 'ws_keys_' || (1 + i % ${KEY_WORKSPACES}), 'bench ' || i, 'live',
             'lk_live_' || substr(md5('p' || i), 1, 4) || '…', array[${KEY_SCOPES.map((s) => `'${s}'`).join(', ')}], 1000000, '{}', 'usr_bench',
             to_timestamp(ms / 1000.0)
      from (select i, ${now.getTime()}::bigint - i * 1000 as ms from generate_series(${lo}, ${hi}) as i) as s
      returning id, prefix, created_at
    )
    insert into api_key_secrets (id, key_id, version, secret_hash, prefix, created_at)
    select 'sec_' || substr(id, 5, 10) || substr(md5('s' || id), 1, 16), id, 1,
           encode(sha256(convert_to('bench-unknown-secret-' || id, 'UTF8')), 'hex'), prefix, created_at
    from k;
  `).execute(db);
}

/** One of the two databases the key lookups compare: its pool, URL, how many keys it holds and the known secrets among them. */
interface KeyTable {
  db: Db;
  url: string;
  keysInTable: number;
  secrets: string[];
}

interface Lookups {
  keysInTable: number;
  known: number[];
  unknown: number[];
  knownDistinct: number;
  plan: string;
  /** The known secrets it looked up (warm-up included). */
  used: Set<string>;
}

/**
 * The hot path's lookup on a cache miss (findBySecretHash, the SHA-256 taken outside the timing, as the
 * authenticator takes it before), one at a time on each database's pool, the two tables interleaved so
 * that noise from other work on the machine falls on both alike: per round, a known secret and an unknown
 * one on each, in alternating order. Known secrets are distinct where there are enough of them (each
 * read for the first time since the fill); 200 warm-up lookups of other secrets first.
 */
async function timeLookups(tables: KeyTable[]): Promise<Lookups[]> {
  const repo = createKeysRepo();
  const unknownHash = () => hashSecret(`lk_live_unknown_${Math.random()}_${process.hrtime.bigint()}`);
  const plans = tables.map((table) => {
    const pick = shuffled(table.secrets);
    const warm = pick.slice(0, 200);
    const pool = pick.length - warm.length >= LOOKUPS ? pick.slice(warm.length, warm.length + LOOKUPS) : pick;
    return { table, warm, measured: Array.from({ length: LOOKUPS }, (_, i) => pool[i % pool.length]!), known: [] as number[], unknown: [] as number[] };
  });
  const find = async (db: Db, hash: string, expect: boolean) => {
    const { ms, result } = await timed(() => repo.findBySecretHash(db, hash));
    if (Boolean(result) !== expect) throw new Error(expect ? 'a known secret was not found' : 'an unknown secret was found');
    return ms;
  };
  for (const plan of plans) {
    for (const secret of plan.warm) await find(plan.table.db, hashSecret(secret), true);
    for (let i = 0; i < 200; i++) await find(plan.table.db, unknownHash(), false);
  }
  for (let i = 0; i < LOOKUPS; i++) {
    for (const plan of i % 2 === 0 ? plans : [...plans].reverse()) {
      plan.known.push(await find(plan.table.db, hashSecret(plan.measured[i]!), true));
      plan.unknown.push(await find(plan.table.db, unknownHash(), false));
    }
  }
  const results: Lookups[] = [];
  for (const { table, warm, measured, known, unknown } of plans) {
    const plan = await planOf(table.db, (ex) => repo.findBySecretHash(ex, hashSecret(measured[0]!)));
    results.push({ keysInTable: table.keysInTable, known, unknown, knownDistinct: new Set(measured).size, plan, used: new Set([...warm, ...measured]) });
    say(`lookups with ${n(table.keysInTable)} keys: known p50 ${ms3(quantile(known, 0.5))} ms p99 ${ms3(quantile(known, 0.99))} ms; ` +
      `unknown p50 ${ms3(quantile(unknown, 0.5))} ms p99 ${ms3(quantile(unknown, 0.99))} ms`);
  }
  return results;
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the last query `run` sends: it runs once through a plugin that keeps the
 * query's tree, which is then compiled as the executor would and explained with the same parameters.
 */
async function planOf(db: Db, run: (ex: Db) => Promise<unknown>): Promise<string> {
  let captured: { node: RootOperationNode; queryId: QueryId } | undefined;
  const capture: KyselyPlugin = {
    transformQuery(args) {
      captured = { node: args.node, queryId: args.queryId };
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  await run(db.withPlugin(capture));
  if (!captured) return '(no query)';
  const compiled = db.getExecutor().compileQuery(captured.node, captured.queryId);
  const result = await db.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain (analyze, buffers) ${compiled.sql}`, [...compiled.parameters]));
  return result.rows.map((row) => row['QUERY PLAN']).join('\n');
}

// ---------------------------------------------------------------------------------------------------
// End to end: the built server on the filled database

interface ServerLookups {
  keysInTable: number;
  cold: number[];
  cached: number[];
}

/**
 * `node dist/main.js` (as npm start runs it) on each database, started fresh so that its key cache is
 * empty: GET /api/v1/ping once with each of `calls` secrets per server (cold: a cache miss, the lookup
 * above), then again with 200 of them (cached); one request at a time over a kept-alive connection, the
 * servers interleaved as the lookups are. 100 warm-up calls on other keys first. The audit log stays on
 * (the calls land in today's partition). Client-side latency, fetch included.
 */
async function timeServers(runs: Array<{ table: KeyTable; secrets: string[] }>, calls: number): Promise<ServerLookups[]> {
  ensureBuilt();
  const dataDir = await mkdtemp(join(tmpdir(), 'latchkey-bench-scale-'));
  const servers: RunningServer[] = [];
  try {
    for (const { table } of runs) {
      const env = { DATABASE_URL: table.url, LOG_LEVEL: 'warn', DATA_DIR: dataDir };
      servers.push(await startServer(process.execPath, [join(ROOT, 'dist', 'main.js')], env, await freePort()));
    }
    const call = async (server: RunningServer, secret: string) => {
      const { ms, result } = await timed(async () => {
        const response = await fetch(`${server.url}/api/v1/ping`, { headers: { authorization: `Bearer ${secret}` } });
        await response.arrayBuffer();
        return response.status;
      });
      if (result !== 200) throw new Error(`GET /api/v1/ping answered ${result}`);
      return ms;
    };
    const state = runs.map(({ table, secrets }, i) => ({ server: servers[i]!, table, secrets, cold: [] as number[], cached: [] as number[] }));
    for (const s of state) for (const secret of s.secrets.slice(0, 100)) await call(s.server, secret);
    for (let i = 0; i < calls; i++) {
      for (const s of i % 2 === 0 ? state : [...state].reverse()) s.cold.push(await call(s.server, s.secrets[100 + i]!));
    }
    for (let i = 0; i < Math.min(200, calls); i++) {
      for (const s of i % 2 === 0 ? state : [...state].reverse()) s.cached.push(await call(s.server, s.secrets[100 + i]!));
    }
    return state.map(({ table, cold, cached }) => {
      say(`server with ${n(table.keysInTable)} keys: cold p50 ${ms3(quantile(cold, 0.5))} ms p99 ${ms3(quantile(cold, 0.99))} ms; ` +
        `cached p50 ${ms3(quantile(cached, 0.5))} ms p99 ${ms3(quantile(cached, 0.99))} ms`);
      return { keysInTable: table.keysInTable, cold, cached };
    });
  } finally {
    for (const server of servers) await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// Audit queries and export

interface Measurement {
  name: string;
  runs: number[];
  detail: string;
}

async function measure(name: string, work: () => Promise<string>): Promise<Measurement> {
  const warmup = await timed(work);
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) runs.push((await timed(work)).ms);
  say(`${name}: median ${median(runs).toFixed(1)} ms (${runs.map((r) => r.toFixed(1)).join(', ')}) — ${warmup.result}`);
  return { name, runs, detail: warmup.result };
}

interface ExportRun {
  format: ExportFormat;
  events: number;
  bytes: number;
  ms: number;
}

async function timeExport(db: Db, now: Date, format: ExportFormat): Promise<ExportRun> {
  const service = createAuditSearchService({ db, repo: createAuditSearchRepo(), now: () => now, payloadDays: 7 });
  const { ms, result } = await timed(async () => {
    const batches = await service.exportEvents(WORKSPACE, { from: new Date(now.getTime() - 30 * DAY_MS), to: now }, { maxRows: EXPORT_ROWS });
    let bytes = 0;
    let lines = 0;
    for await (const chunk of encodeExport(batches, format)) {
      bytes += Buffer.byteLength(chunk);
      for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) lines++;
    }
    return { bytes, events: format === 'csv' ? lines - 1 : lines };
  });
  const run = { format, ms, ...result };
  say(`export ${format}: ${n(run.events)} events, ${(run.bytes / 1e6).toFixed(1)} MB in ${(ms / 1000).toFixed(1)} s = ` +
    `${n(Math.round(run.events / (ms / 1000)))} events/s, ${(run.bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`);
  return run;
}

// ---------------------------------------------------------------------------------------------------
// Sizes

interface Sizes {
  events: number;
  /** Events of other workspaces than the bench one: the calls of the server runs. */
  serverEvents: number;
  eventsBytes: { total: number; heap: number; indexes: number; toast: number; partitions: number };
  hourly: { rows: number; bytes: number };
  ipDaily: { rows: number; bytes: number };
  keys: number;
  secrets: number;
  keysBytes: number;
  secretsBytes: number;
  database: number;
  version: string;
}

async function sizes(db: Db): Promise<Sizes> {
  const one = async <T>(text: string): Promise<T> => (await sql.raw<T>(text).execute(db)).rows[0]!;
  const events = await one<{ rows: string; total: string; heap: string; indexes: string; toast: string; partitions: string }>(`
    select (select count(*) from audit_events) as rows,
           sum(pg_total_relation_size(relid)) as total, sum(pg_relation_size(relid)) as heap,
           sum(pg_indexes_size(relid)) as indexes,
           sum(pg_total_relation_size(relid) - pg_relation_size(relid) - pg_indexes_size(relid)) as toast,
           count(*) as partitions
    from pg_partition_tree('audit_events') where isleaf`);
  const table = async (name: string) => {
    const row = await one<{ rows: string; bytes: string }>(`select (select count(*) from ${name}) as rows, pg_total_relation_size('${name}') as bytes`);
    return { rows: Number(row.rows), bytes: Number(row.bytes) };
  };
  const keys = await table('api_keys');
  const secrets = await table('api_key_secrets');
  const other = await one<{ database: string; version: string }>(`select pg_database_size(current_database()) as database, current_setting('server_version') as version`);
  const serverEvents = await one<{ rows: string }>(`select count(*) as rows from audit_events where workspace_id <> '${WORKSPACE}'`);
  return {
    events: Number(events.rows),
    serverEvents: Number(serverEvents.rows),
    eventsBytes: { total: Number(events.total), heap: Number(events.heap), indexes: Number(events.indexes), toast: Number(events.toast), partitions: Number(events.partitions) },
    hourly: await table('audit_usage_hourly'),
    ipDaily: await table('audit_ip_daily'),
    keys: keys.rows,
    secrets: secrets.rows,
    keysBytes: keys.bytes,
    secretsBytes: secrets.bytes,
    database: Number(other.database),
    version: other.version,
  };
}

function diskFree(): string {
  try {
    return execFileSync('df', ['-h', '--output=used,avail', ROOT], { encoding: 'utf8' }).trim().split('\n').at(-1)?.trim() ?? '?';
  } catch {
    return '?';
  }
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const database = await createTestDatabase();
  const { db } = openDatabase({ databaseUrl: database.url, poolSize: 4 });
  const diskBefore = diskFree();
  let small: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let lookups: Lookups[] = [];
  let servers: ServerLookups[] = [];
  try {
    await migrateToLatest(db);
    const now = new Date();
    say(`filling ${n(EVENTS)} audit events…`);
    const fill: FillTimes = await fillAuditLog(db, { events: EVENTS, now, partitioned: true, vacuum: true, progress: say });
    say(`audit log filled in ${(fill.totalMs / 1000).toFixed(1)} s`);

    // Keys: this database gets --keys (--sample real ones spread through the rest, inserted in SQL), and a
    // second, small one 1,000 real ones, so that the lookups can alternate between the two.
    const keysStart = process.hrtime.bigint();
    const realWorkspace = await keyWorkspaces(db);
    const seed = (into: Db, count: number) => seedKeys(into, { workspaceId: realWorkspace, createdBy: 'usr_bench', count, scopes: KEY_SCOPES });
    const secrets: string[] = [];
    const random = KEYS - SAMPLE;
    const chunks = Math.max(1, Math.ceil(random / KEY_CHUNK));
    for (let c = 0; c < chunks; c++) {
      const lo = c * KEY_CHUNK + 1;
      const hi = Math.min(random, (c + 1) * KEY_CHUNK);
      if (hi >= lo) await insertRandomKeys(db, lo, hi, now);
      const real = Math.floor((SAMPLE * (c + 1)) / chunks) - Math.floor((SAMPLE * c) / chunks);
      if (real > 0) secrets.push(...(await seed(db, real)));
      say(`  keys ${n(Math.max(0, hi) + secrets.length)} / ${n(KEYS)}`);
    }
    await sql`vacuum (analyze) api_keys, api_key_secrets`.execute(db);
    const keysMs = Number(process.hrtime.bigint() - keysStart) / 1e6;
    say(`keys filled in ${(keysMs / 1000).toFixed(1)} s`);

    small = await createTestDatabase();
    const smallDb = openDatabase({ databaseUrl: small.url, poolSize: 4 }).db;
    try {
      await migrateToLatest(smallDb);
      await sql`insert into users (id, email, password_hash) values ('usr_bench', 'bench@example.com', 'x')`.execute(smallDb);
      await keyWorkspaces(smallDb);
      const smallSecrets = await seed(smallDb, SMALL_KEYS);
      await sql`vacuum (analyze) api_keys, api_key_secrets`.execute(smallDb);
      const tables: KeyTable[] = [
        { db: smallDb, url: small.url, keysInTable: SMALL_KEYS, secrets: smallSecrets },
        { db, url: database.url, keysInTable: KEYS, secrets },
      ];
      lookups = await timeLookups(tables);
      // Through the servers: secrets the in-process lookups did not read, where there are enough of them,
      // so that the database too reads their rows for the first time.
      const unread = tables.map((table, i) => {
        const fresh = table.secrets.filter((secret) => !lookups[i]!.used.has(secret));
        return shuffled(fresh.length >= 200 ? fresh : table.secrets);
      });
      const calls = Math.min(LOOKUPS, ...unread.map((u) => u.length - 100));
      servers = await timeServers(tables.map((table, i) => ({ table, secrets: unread[i]! })), calls);
    } finally {
      await smallDb.destroy();
    }

    // A key's usage and the anomaly scan.
    const loadBefore = loadavg()[0] ?? 0;
    const repo = createUsageRepo();
    const usage = createUsageService({ db, repo, keys: createKeysRepo(), now: () => now });
    const month = { from: new Date(now.getTime() - 30 * DAY_MS), to: now };
    const queries = [
      await measure('usage of the busy key, 30 days', async () => {
        const result = await usage.usage(WORKSPACE, BUSY_KEY, 30);
        return `${n(result.totals.total)} requests, ${result.top_routes.length} routes, ${result.source_ips.count} IPs, ${result.anomalies.length} anomalies`;
      }),
      await measure('anomaly scan of the workspace, 30 days', async () => {
        const scan = await usage.anomalies(WORKSPACE, month);
        const types = new Map<string, number>();
        for (const a of scan.data) types.set(a.type, (types.get(a.type) ?? 0) + 1);
        return `${scan.data.length} anomalies: ${[...types].map(([t, c]) => `${c} ${t}`).join(', ')}`;
      }),
    ];
    const loadAfter = loadavg()[0] ?? 0;
    const steps = await scanSteps(db, WORKSPACE, month);
    // The plans of the biggest reads, for the report (and to see what limits a slow one).
    const plans = {
      scanHours: await planOf(db, (ex) => scanHourTotalsQuery(ex, { workspaceId: WORKSPACE }, hourlyRowsFrom(month), now, scanPrefilter(month)).execute()),
      busyRoutes: await planOf(db, (ex) => repo.routeTotals(ex, BUSY_KEY, month.from, now)),
    };

    const exports = [await timeExport(db, now, 'ndjson'), await timeExport(db, now, 'csv')];
    const size = await sizes(db);
    const diskFull = diskFree();
    await writeReport({ fill, keysMs, small: lookups[0]!, large: lookups[1]!, servers, queries, steps, plans, exports, size, load: [loadBefore, loadAfter], disk: [diskBefore, diskFull], wallMs: Date.now() - started });
  } finally {
    await db.destroy();
    await small?.drop();
    if (flags.keep) say(`kept the database: ${database.url}`);
    else await database.drop();
  }
}


/** Why the workspace scan slows down as traffic per key grows (profiled on a 10M-event fill), and what would lift it. */
const WHAT_LIMITS_THE_SCAN = `**What limits the scan** (profiled with EXPLAIN (ANALYZE, BUFFERS) on a 10M-event fill kept with --keep):

1. *The hourly totals read is no longer prefiltered.* The prefilter keeps every hour of a key that reaches the
   spike floor (100 requests in an hour) somewhere in the window. At 1M events only the busy key and one more do;
   at 10M every key makes ~150 calls an hour, so all ~14,400 key-hours of 37 days come back: PostgreSQL aggregates
   ~49,000 rollup rows into them (HashAggregate, then the CTE is scanned a second time for the spiking keys:
   ~110 ms in EXPLAIN), and the rules in JS then walk them (25–70 ms). Its cost grows with keys × hours, and would
   with more keys in a workspace. Would lift it: a key-hour rollup kept by the writer (key_id, hour, requests,
   2xx…5xx, refused; one row per key and hour, read by (workspace_id, hour) with no GROUP BY), and the spike rule's
   baseline computed in SQL (a window function per key) so that only candidate hours leave the database.
2. *The refused calls' IPs read every event of each refused hour.* refusedIps is an index range per hour with
   refusals on (key_id, id) or (created_at, id), then filters error_code = 'ip_not_allowed' on the heap: for the busy
   key that is ~13,900 events per hour (~70,000 rows, ~2,700 buffers) to keep 200 (30 ms in EXPLAIN, 65–130 ms under
   load). It grows with the refused key's traffic. Would lift it: a partial index
   \`create index … on audit_events (key_id, id) where error_code = 'ip_not_allowed'\` (refusals are rare, so it is
   tiny and cheap to keep), or the refusals' IPs kept in a rollup (key, day, IP, first/last seen, count) by the writer.

Neither change is made here (src/audit is not this benchmark's to change).
`;

async function writeReport(r: {
  fill: FillTimes;
  keysMs: number;
  small: Lookups;
  large: Lookups;
  servers: ServerLookups[];
  queries: Measurement[];
  steps: ScanStep[];
  plans: { scanHours: string; busyRoutes: string };
  exports: ExportRun[];
  size: Sizes;
  load: number[];
  disk: string[];
  wallMs: number;
}): Promise<void> {
  const { node, cpu, cores } = machine();
  const s = r.size;
  const lookupRow = (l: Lookups, kind: 'known' | 'unknown') => {
    const v = l[kind];
    return `| ${n(l.keysInTable)} | ${kind === 'known' ? `known (${n(l.knownDistinct)} distinct)` : 'unknown (not in the table)'} | ${n(v.length)} | ${ms3(quantile(v, 0.5))} | ${ms3(quantile(v, 0.9))} | ${ms3(quantile(v, 0.99))} | ${ms3(Math.max(...v))} |`;
  };
  const serverRow = (v: ServerLookups, kind: 'cold' | 'cached') => {
    const t = v[kind];
    return `| ${n(v.keysInTable)} | ${kind === 'cold' ? 'cold keys (cache miss)' : 'cached keys'} | ${n(t.length)} | ${ms3(quantile(t, 0.5))} | ${ms3(quantile(t, 0.9))} | ${ms3(quantile(t, 0.99))} | ${ms3(Math.max(...t))} |`;
  };
  const ratio = (kind: 'known' | 'unknown', q: number) => quantile(r.large[kind], q) / quantile(r.small[kind], q);
  const queryRow = (m: Measurement) => `| ${m.name} | ${median(m.runs).toFixed(1)} | ${Math.min(...m.runs).toFixed(1)} | ${Math.max(...m.runs).toFixed(1)} | ${m.detail} |`;
  const verdict = (m: Measurement) => `- ${m.name}: **${median(m.runs).toFixed(1)} ms** (median of ${RUNS}), target < ${TARGET_MS} ms: **${median(m.runs) < TARGET_MS ? 'met' : 'missed'}**`;
  const exportRow = (e: ExportRun) =>
    `| ${e.format} | ${n(e.events)} | ${mb(e.bytes)} | ${(e.ms / 1000).toFixed(1)} | ${n(Math.round(e.events / (e.ms / 1000)))} | ${(e.bytes / 1e6 / (e.ms / 1000)).toFixed(1)} | ${Math.round(e.bytes / e.events)} |`;
  const perEvent = (bytes: number) => (bytes / s.events).toFixed(1);
  const p99Ratio = ratio('known', 0.99);
  const p50Ratio = ratio('known', 0.5);
  const text = `# Scale: 1M keys and 10M audit events on PostgreSQL

- Date: ${new Date().toISOString()}
- Command: \`node --import tsx bench/scale.ts --keys ${KEYS} --events ${EVENTS} --runs ${RUNS} --lookups ${LOOKUPS} --sample ${SAMPLE} --export-rows ${EXPORT_ROWS}\`
- Node ${node}; CPU: ${cpu} (${cores} cores available, shared with other work); PostgreSQL ${s.version} on the same machine, default
  settings (shared_buffers 128 MB); no pinning (everything here is in-process: the benchmark calls the repositories and services the routes call)
- Machine load (1-minute average) before and after the usage/scan measurements: ${r.load.map((l) => l.toFixed(1)).join(' → ')}
- Whole run: ${(r.wallMs / 60000).toFixed(1)} min. Disk (used, available on the data volume): before ${r.disk[0]}, filled ${r.disk[1]};
  the database: ${mb(s.database)} (dropped afterwards unless --keep)

## Fill

| part | seconds |
| --- | --- |
| audit: setup and ${r.fill.partitions} day partitions | ${(r.fill.setupMs / 1000).toFixed(1)} |
| audit: ${n(EVENTS)} events + 20,700 planted (INSERT … SELECT generate_series, 1M per statement) | ${(r.fill.eventsMs / 1000).toFixed(1)} |
| audit: rollups (INSERT … SELECT … GROUP BY per day partition) | ${(r.fill.rollupsMs / 1000).toFixed(1)} |
| audit: VACUUM (ANALYZE) of the database | ${(r.fill.analyzeMs / 1000).toFixed(1)} |
| **audit log total** | **${(r.fill.totalMs / 1000).toFixed(1)}** |
| keys: ${n(SAMPLE)} real (seedKeys) + ${n(KEYS - SAMPLE)} random (SQL), VACUUM (ANALYZE) | ${(r.keysMs / 1000).toFixed(1)} |

Data: ${n(s.events)} audit events for one workspace over 30 days (80% by one busy key on 8 routes from 3 IPs, the rest by
${OTHER_KEYS} keys; 2% 404, 1% 429, 0.5% 403, plus planted anomalies: a 20,000-call hour, 200 allowlist refusals, 500 401s),
in ${s.eventsBytes.partitions} partitions (${r.fill.partitions} days + default, as retention makes them); ${n(s.hourly.rows)} audit_usage_hourly
rows and ${n(s.ipDaily.rows)} audit_ip_daily rows. (${n(s.serverEvents)} of the events, and their rollup rows, are the server runs' calls below,
in the keys' workspaces.) ${n(s.keys)} keys (${n(s.secrets)} secret versions) in ${KEY_WORKSPACES + 1} other workspaces:
${n(SAMPLE)} with real secrets (their SHA-256 stored, as the service does) spread through the others, which have random hashes.

## Verification: the cache-miss lookup with ${n(SMALL_KEYS)} vs ${n(KEYS)} keys

The hot path's one query when the key is not cached (\`findBySecretHash\`: the secret version by its SHA-256, joined
to its key), through the repository, one at a time on each database's pool: this database with ${n(KEYS)} keys, and a second,
fresh one with ${n(SMALL_KEYS)} keys on the same server, **interleaved** (per round: a known secret, then an unknown one — made-up
keys miss the cache too — on each database, in alternating order), so that noise from other work on the machine falls on
both alike. After 200 warm-up lookups of other secrets on each. With ${n(KEYS)} keys each known secret is looked up once
(its rows read for the first time since the fill; api_keys and api_key_secrets with their indexes take ${mb(s.keysBytes + s.secretsBytes)},
against shared_buffers of 128 MB); with
${n(SMALL_KEYS)} keys secrets repeat and the whole table sits in PostgreSQL's buffers anyway.

| keys in the table | secrets | lookups | p50 ms | p90 ms | p99 ms | max ms |
| --- | --- | --- | --- | --- | --- | --- |
${[lookupRow(r.small, 'known'), lookupRow(r.small, 'unknown'), lookupRow(r.large, 'known'), lookupRow(r.large, 'unknown')].join('\n')}

Known secrets at ${n(KEYS)} vs ${n(SMALL_KEYS)} keys: p50 ×${p50Ratio.toFixed(2)}, p99 ×${p99Ratio.toFixed(2)}; unknown: p50 ×${ratio('unknown', 0.5).toFixed(2)}, p99 ×${ratio('unknown', 0.99).toFixed(2)}.
"Unchanged" (p50 and p99 within ×1.5, which is about the run-to-run noise of sub-millisecond timings on this shared machine):
**${p50Ratio <= 1.5 && p99Ratio <= 1.5 ? 'met' : 'missed'}**.

With ${n(SMALL_KEYS)} keys:

\`\`\`
${r.small.plan}
\`\`\`

With ${n(KEYS)} keys:

\`\`\`
${r.large.plan}
\`\`\`

### End to end, through the server
${r.servers.length === 0 ? '\nNot run: --sample leaves fewer than 200 secrets unread by the in-process lookups.\n' : ''}
\`node dist/main.js\` on each of the two databases, both started fresh (empty key cache), audit log on, no Redis:
\`GET /api/v1/ping\` once per key (cold: the lookup above, plus SHA-256, checks, the rate limit and the audit event),
alternating between the two servers, after 100 warm-up calls on other keys; then 200 of the same keys again (cached).
One request at a time; the client's time, fetch included. With ${n(KEYS)} keys the secrets are ones the in-process
lookups did not read.

| keys in the table | calls | count | p50 ms | p90 ms | p99 ms | max ms |
| --- | --- | --- | --- | --- | --- | --- |
${r.servers.flatMap((v) => [serverRow(v, 'cold'), serverRow(v, 'cached')]).join('\n')}

${r.servers.length === 2 ? `Cold calls at ${n(KEYS)} vs ${n(SMALL_KEYS)} keys: p50 ×${(quantile(r.servers[1]!.cold, 0.5) / quantile(r.servers[0]!.cold, 0.5)).toFixed(2)}, p99 ×${(quantile(r.servers[1]!.cold, 0.99) / quantile(r.servers[0]!.cold, 0.99)).toFixed(2)}.` : ''}

## A key's usage and the anomaly scan at ${n(s.events)} events

Through the service (the SQL and the rules in JS, as the routes call them, without HTTP): one warm-up, then ${RUNS} runs.

${r.queries.map(verdict).join('\n')}

| measured | median ms | min ms | max ms | answer |
| --- | --- | --- | --- | --- |
${r.queries.map(queryRow).join('\n')}

The scan's steps one at a time (warm, one run each; the service runs the first three, then the next two, in parallel):

| step | ms | returned |
| --- | --- | --- |
${r.steps.map((step) => `| ${step.name} | ${step.ms.toFixed(1)} | ${step.rows} |`).join('\n')}

${r.queries.some((m) => median(m.runs) >= TARGET_MS) ? WHAT_LIMITS_THE_SCAN : ''}
Both read the rollups (audit_usage_hourly, audit_ip_daily), whose size grows with keys × hours × routes × statuses, not
with the number of events; the only reads of audit_events are index ranges over the hours with refusals.

The scan's biggest read, the workspace's hourly totals:

\`\`\`
${r.plans.scanHours}
\`\`\`

The busy key's route totals (the usage's biggest read):

\`\`\`
${r.plans.busyRoutes}
\`\`\`

## Export rate

The audit export through the service (\`exportEvents\`: keyset pages of ${1000} newest first, encoded by \`encodeExport\` as the
route streams it; bytes counted, not sent), the workspace's last 30 days, first ${n(EXPORT_ROWS)} events.

| format | events | size | seconds | events/s | MB/s | bytes/event |
| --- | --- | --- | --- | --- | --- | --- |
${r.exports.map(exportRow).join('\n')}

## Bytes on disk

| what | rows | bytes | per row | per audit event |
| --- | --- | --- | --- | --- |
| audit_events, every partition, with indexes and TOAST | ${n(s.events)} | ${mb(s.eventsBytes.total)} | ${perEvent(s.eventsBytes.total)} | ${perEvent(s.eventsBytes.total)} |
| … of which the table (heap) | | ${mb(s.eventsBytes.heap)} | ${perEvent(s.eventsBytes.heap)} | |
| … of which indexes (primary key, workspace, key) | | ${mb(s.eventsBytes.indexes)} | ${perEvent(s.eventsBytes.indexes)} | |
| … of which TOAST, free space and visibility maps | | ${mb(s.eventsBytes.toast)} | ${perEvent(s.eventsBytes.toast)} | |
| audit_usage_hourly (rollup) | ${n(s.hourly.rows)} | ${mb(s.hourly.bytes)} | ${(s.hourly.bytes / s.hourly.rows).toFixed(1)} | ${perEvent(s.hourly.bytes)} |
| audit_ip_daily (rollup) | ${n(s.ipDaily.rows)} | ${mb(s.ipDaily.bytes)} | ${(s.ipDaily.bytes / s.ipDaily.rows).toFixed(1)} | ${perEvent(s.ipDaily.bytes)} |
| api_keys | ${n(s.keys)} | ${mb(s.keysBytes)} | ${(s.keysBytes / s.keys).toFixed(1)} | |
| api_key_secrets | ${n(s.secrets)} | ${mb(s.secretsBytes)} | ${(s.secretsBytes / s.secrets).toFixed(1)} | |
| **a key (api_keys + its one secret version)** | ${n(s.keys)} | ${mb(s.keysBytes + s.secretsBytes)} | **${((s.keysBytes + s.secretsBytes) / s.keys).toFixed(1)}** | |

Audit payloads (audit_payloads, kept 7 days) are not filled: the bench events have no query string or body. The
rollups' size depends on keys × hours × routes × statuses, so their bytes per event fall as traffic per key grows.
`;
  const dir = join(ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'scale.md'), text);
  say(`wrote ${join('bench', 'results', 'scale.md')}`);
}

await main();
