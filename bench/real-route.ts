/**
 * A real route with everything on: GET /api/v1/conversations?limit=1 (the hot path, then a query of the
 * workspace's live conversations) on the server as `npm start` runs it (`node dist/main.js`, audit log on),
 * on PGlite and on PostgreSQL, one core each for server and load. Besides requests/s, latency and server
 * CPU per request, it checks that the audit writer kept up: after the run, every /api request the server
 * answered has its event written, and none was dropped.
 *
 *   node --import tsx bench/real-route.ts [--storage both|pglite|postgres] [--duration 10] [--warmup 3]
 *                                         [--connections 10] [--pipelining 1] [--rounds 2] [--cpu-prof DIR]
 *
 * dist/ must be current: `npm run build` after changing src/ (the benchmark only builds a missing dist/).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createKey,
  describeNon2xx,
  LOAD_FLAGS,
  loadSettings,
  machine,
  markdownTable,
  mean,
  metricSum,
  pinningDescription,
  ROOT,
  runBenchmark,
  runLoad,
  scrapeMetrics,
  serverMicrosPerRequest,
  setUp,
  startLatchkey,
  type Latchkey,
  type LoadResult,
} from './lib.js';
import { profileHint } from './profile-hint.js';

const PATH = '/api/v1/conversations?limit=1';
// The highest workspace ceiling the config accepts: far above what one core serves, so no run meets a 429.
const RATE_LIMIT_PER_MINUTE = 1_000_000;
/** How long the audit writer may take, after the load stops, to write what is still queued. */
const DRAIN_TIMEOUT_MS = 120_000;

const { values: flags } = parseArgs({
  options: {
    storage: { type: 'string', default: 'both' },
    ...LOAD_FLAGS,
    pipelining: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
    'cpu-prof': { type: 'string' },
  },
});
const storages = { both: ['PGlite', 'PostgreSQL'], pglite: ['PGlite'], postgres: ['PostgreSQL'] }[flags.storage];
if (!storages) throw new Error('--storage must be both, pglite or postgres');
const settings = loadSettings(flags);
const profileDir = flags['cpu-prof'];

/** What the audit writer did: read from /metrics before the load, when it stopped, and once drained. */
interface AuditHealth {
  /** Events still queued the moment the measured load stopped. */
  queuedAtEnd: number;
  /** Seconds from the end of the load until every answered /api request had its event written. */
  drainSeconds: number;
  /** /api requests answered over the server's life (setup checks, warm-up and measured runs). */
  answered: number;
  written: number;
  dropped: number;
  /** Refused by the database for their content (0 where the server has no such counter). */
  rejected: number;
  /** Written = answered, nothing dropped or refused. */
  healthy: boolean;
}

interface StorageRun {
  storage: Latchkey['storage'];
  runs: LoadResult[];
  audit: AuditHealth;
}

const answeredApi = (metrics: Map<string, number>) => metricSum(metrics, 'latchkey_http_requests_total', 'surface="api"');

async function measure(postgres: boolean): Promise<StorageRun> {
  const server = await startLatchkey({
    postgres,
    env: { DEFAULT_CEILING_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE) },
    nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  });
  try {
    const session = await setUp(server.url);
    const demo = await fetch(`${server.url}/v1/workspaces/${session.workspaceId}/demo-data`, { method: 'POST', headers: session.headers });
    if (!demo.ok) throw new Error(`demo data: ${demo.status} ${await demo.text()}`);
    const key = await createKey(session, { name: 'bench', scopes: ['conversations:read'], rate_limit: { per_minute: RATE_LIMIT_PER_MINUTE } });
    const headers = { authorization: `Bearer ${key.secret}` };
    const check = await fetch(`${server.url}${PATH}`, { headers });
    const body = (await check.json()) as { data?: unknown[] };
    if (check.status !== 200 || body.data?.length !== 1) throw new Error(`${PATH} answered ${check.status} with ${JSON.stringify(body).slice(0, 200)}`);

    const runs: LoadResult[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      const result = await runLoad({ ...settings, url: `${server.url}${PATH}`, headers, serverPid: server.pid, exactLatency: true });
      runs.push(result);
      process.stderr.write(`${server.storage} round ${round}: ${Math.round(result.requestsPerSecond)} req/s\n`);
    }
    return { storage: server.storage, runs, audit: await drained(server.url) };
  } catch (error) {
    process.stderr.write(`server output:\n${server.output()}\n`);
    throw error;
  } finally {
    await server.stop();
  }
}

/** Waits until every answered /api request has its audit event written (or dropped), then reads the counters. */
async function drained(url: string): Promise<AuditHealth> {
  const stoppedAt = performance.now();
  const atEnd = await scrapeMetrics(url);
  const queuedAtEnd = metricSum(atEnd, 'latchkey_audit_events_queued');
  for (;;) {
    const metrics = await scrapeMetrics(url);
    const answered = answeredApi(metrics);
    const written = metricSum(metrics, 'latchkey_audit_events_written_total');
    const dropped = metricSum(metrics, 'latchkey_audit_events_dropped_total');
    const rejected = metricSum(metrics, 'latchkey_audit_events_rejected_total');
    const waited = performance.now() - stoppedAt;
    if (written + dropped + rejected >= answered || waited > DRAIN_TIMEOUT_MS) {
      const healthy = written === answered && dropped === 0 && rejected === 0;
      return { queuedAtEnd, drainSeconds: waited / 1000, answered, written, dropped, rejected, healthy };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const fmt = (n: number, digits = 1) => (Number.isNaN(n) ? 'n/a' : n.toFixed(digits));
const percent = (n: number | null) => (n === null || Number.isNaN(n) ? 'n/a' : `${n.toFixed(0)}%`);
const exactP = (r: LoadResult, p: 'p50Ms' | 'p99Ms') => r.exact?.[p] ?? r[p];

function summaryTable(results: StorageRun[]): string {
  const rows = results.map(({ storage, runs }) => [
    storage,
    fmt(mean(runs.map((r) => r.requestsPerSecond)), 0),
    fmt(mean(runs.map((r) => exactP(r, 'p50Ms'))), 2),
    fmt(mean(runs.map((r) => exactP(r, 'p99Ms'))), 2),
    fmt(mean(runs.map(serverMicrosPerRequest)), 0),
    percent(mean(runs.map((r) => r.serverCpuPercent ?? Number.NaN))),
    percent(mean(runs.map((r) => r.clientCpuPercent))),
    percent(mean(runs.map((r) => r.otherCpuPercent ?? Number.NaN))),
  ]);
  return markdownTable(['storage (mean of rounds)', 'req/s', 'p50 ms', 'p99 ms', 'server µs/req', 'server CPU', 'client CPU', 'other CPU'], rows);
}

function auditTable(results: StorageRun[]): string {
  const rows = results.map(({ storage, audit }) => [
    storage,
    String(audit.answered),
    String(audit.written),
    String(audit.dropped),
    String(audit.rejected),
    String(audit.queuedAtEnd),
    fmt(audit.drainSeconds, 1),
    audit.healthy ? 'yes' : '**no**',
  ]);
  return markdownTable(['storage', '/api requests answered', 'events written', 'dropped', 'refused by the database', 'queued when the load stopped', 'drained in s', 'all written, none dropped'], rows);
}

function rawTable(results: StorageRun[]): string {
  const rows = results.flatMap(({ storage, runs }) =>
    runs.map((r, i) => [
      storage,
      String(i + 1),
      fmt(r.requestsPerSecond, 0),
      fmt(r.meanMs, 2),
      fmt(exactP(r, 'p50Ms'), 2),
      fmt(exactP(r, 'p99Ms'), 2),
      String(r.p99Ms),
      String(r.errors),
      JSON.stringify(r.statusCodes),
      fmt(serverMicrosPerRequest(r), 0),
      percent(r.serverCpuPercent),
      percent(r.clientCpuPercent),
      percent(r.otherCpuPercent),
    ]),
  );
  return markdownTable(
    ['storage', 'round', 'req/s', 'mean ms', 'p50 ms', 'p99 ms', 'autocannon p99 ms', 'errors', 'status codes', 'server µs/req', 'server CPU', 'client CPU', 'other CPU'],
    rows,
  );
}

function markdown(results: StorageRun[], failures: string[]): string {
  const m = machine();
  return `# Real route: GET ${PATH}, audit log on

- Date: ${new Date().toISOString()}
- Command: \`${['node --import tsx bench/real-route.ts', ...process.argv.slice(2)].join(' ')}\`
- Node ${m.node}; CPU: ${m.cpu} (${m.cores} cores available)
- Core pinning: ${pinningDescription()}
- Server: \`node dist/main.js\` as \`npm start\` runs it (audit log on), \`LOG_LEVEL=warn\`; ${results.map((r) => r.storage).join(' and ')}, each a fresh server and database
- Data: the demo data (\`POST /v1/workspaces/{id}/demo-data\`); a live key with \`conversations:read\`, ${RATE_LIMIT_PER_MINUTE} requests per minute, cached after its first request
- Load: autocannon, ${settings.connections} connections, pipelining ${settings.pipelining}, ${settings.warmupSeconds} s warm-up then ${settings.durationSeconds} s measured per run, ${settings.rounds} rounds per storage

## Result (mean of ${settings.rounds} rounds)

${summaryTable(results)}

The issue sets no target for this route: these are the figures. p50 and p99 come from every response's own
time (sub-millisecond); server µs/req is the server's CPU time per request, steadier than req/s on a shared
machine. Server CPU near 100% means the server's core was the limit; on PostgreSQL the database's own
processes are not pinned and count as other CPU, taking time from the load generator's core.

## The audit writer kept up

${auditTable(results)}

Read from \`/metrics\` (\`latchkey_http_requests_total{surface="api"}\`, \`latchkey_audit_events_written_total\`,
\`latchkey_audit_events_dropped_total\`, \`latchkey_audit_events_rejected_total\` where the server has it,
\`latchkey_audit_events_queued\`) once the load stopped, then until every
answered /api request (checks, warm-up and measured runs) had its event written, for up to ${DRAIN_TIMEOUT_MS / 1000} s.
${failures.length > 0 ? `\n**INVALID RUN**: ${failures.join('; ')}.\n` : ''}
## Raw runs

${rawTable(results)}
`;
}

async function main(): Promise<number> {
  const results: StorageRun[] = [];
  for (const storage of storages!) results.push(await measure(storage === 'PostgreSQL'));

  const failures = results.flatMap(({ storage, runs, audit }) => [
    ...runs.filter((r) => r.errors > 0 || r.non2xx > 0).map((r) => `${storage}: ${describeNon2xx(r)}`),
    ...(audit.healthy ? [] : [`${storage}: ${audit.answered} answered, ${audit.written} written, ${audit.dropped} dropped, ${audit.rejected} refused`]),
  ]);
  process.stdout.write(`\n${summaryTable(results)}\n\n${auditTable(results)}\n`);
  if (profileDir) {
    for (const { storage, runs } of results) process.stdout.write(`${profileHint(profileDir, `${storage}`, runs)}\n`);
  } else {
    await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
    await writeFile(join(ROOT, 'bench', 'results', 'real-route.md'), markdown(results, failures));
    process.stdout.write('written to bench/results/real-route.md\n');
  }
  if (failures.length > 0) {
    // A non-2xx answer, a connection error or a lost audit event: the figures do not measure what they say.
    process.stderr.write(`\nINVALID RUN:\n  ${failures.join('\n  ')}\n`);
    return 1;
  }
  return 0;
}

runBenchmark('real-route', main);
