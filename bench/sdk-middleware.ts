/**
 * What @latchkey/sdk's middleware costs the API it guards: the invoices example (Express 5,
 * examples/invoices) with `latchkey.express({ scope })` on its routes against the same API with no check
 * (examples/invoices/src/unprotected.ts), GET /v1/invoices?limit=1 under autocannon. Target: the guarded
 * API keeps ≥ 60% of the unguarded one's req/s. To say where the time goes it also measures a bare
 * POST /v1/keys/verify (the round trip each guarded request makes) and the CPU each process spends per request.
 *
 * Layout (two cores): the example API pinned to core 0 in both runs; autocannon and Latchkey on core 1.
 * Latchkey runs from src (bench/server.ts) with the audit log on and the example's product file.
 *
 *   node --import tsx bench/sdk-middleware.ts [--storage pglite|postgres] [--duration 10] [--warmup 3] [--connections 10]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { openDatabase } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { createServiceKeys } from '../src/service-keys/service-keys.js';
import { freePort, startServer, type RunningServer } from '../test/process.js';
import { createTestDatabase } from '../test/services.js';
import { cpuSeconds, machine, markdownTable, pinning, ROOT, runLoad, setUp, wholeNumberFlag, type LoadResult } from './lib.js';

const PRODUCT_FILE = join(ROOT, 'examples/invoices/latchkey.product.yaml');
const PATH = '/v1/invoices?limit=1';
const RATE_LIMIT_PER_MINUTE = 1_000_000;
const API_CORE = 0;
const LATCHKEY_CORE = 1;

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    storage: { type: 'string', default: 'pglite' },
  },
});
if (flags.storage !== 'pglite' && flags.storage !== 'postgres') throw new Error('--storage must be pglite or postgres');
const storage = flags.storage === 'postgres' ? 'PostgreSQL' : 'PGlite';
const settings = {
  durationSeconds: wholeNumberFlag('duration', flags.duration, 1),
  warmupSeconds: wholeNumberFlag('warmup', flags.warmup, 0),
  connections: wholeNumberFlag('connections', flags.connections, 1),
  pipelining: 1,
};

function pinnedTo(core: number, args: string[]): [string, string[]] {
  return pinning ? ['taskset', ['-c', String(core), process.execPath, ...args]] : [process.execPath, args];
}

function ensureSdkBuilt(): void {
  if (existsSync(join(ROOT, 'packages/sdk/dist/index.js'))) return;
  const build = spawnSync('npm', ['run', 'build', '-w', '@latchkey/sdk'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('building @latchkey/sdk failed');
}

async function startExample(entry: string, env: Record<string, string>): Promise<RunningServer> {
  const [command, args] = pinnedTo(API_CORE, ['--import', 'tsx', join(ROOT, 'examples/invoices/src', entry)]);
  return startServer(command, args, env, await freePort());
}

/** A bare verify call under the same load: what each guarded request waits for. Not pinned (in this process). */
async function loadVerify(url: string, serviceKey: string, key: string, pid: number): Promise<{ result: autocannon.Result; latchkeyMicros: number }> {
  const options = {
    url: `${url}/v1/keys/verify`,
    method: 'POST' as const,
    headers: { authorization: `Bearer ${serviceKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key, scopes: ['invoices:read'], client_ip: '127.0.0.1', method: 'GET', path: '/v1/invoices' }),
    connections: settings.connections,
    pipelining: 1,
  };
  if (settings.warmupSeconds > 0) await autocannon({ ...options, duration: settings.warmupSeconds });
  const before = cpuSeconds(pid);
  const result = await autocannon({ ...options, duration: settings.durationSeconds });
  const after = cpuSeconds(pid);
  const latchkeyMicros = before === null || after === null ? Number.NaN : ((after - before) * 1e6) / (result.requests.total || 1);
  return { result, latchkeyMicros };
}

interface Measured {
  load: LoadResult;
  /** CPU µs per request of the example API and of Latchkey during the measured run. */
  apiMicros: number;
  latchkeyMicros: number;
}

async function measure(url: string, headers: Record<string, string>, apiPid: number, latchkeyPid: number): Promise<Measured> {
  const latchkeyBefore = cpuSeconds(latchkeyPid);
  const load = await runLoad({ ...settings, url: `${url}${PATH}`, headers, serverPid: apiPid, exactLatency: true });
  const latchkeyAfter = cpuSeconds(latchkeyPid);
  // The latchkey figure spans the warm-up too: scaled by all the requests the run sent.
  const totalRequests = load.requests + Math.round(load.requestsPerSecond * settings.warmupSeconds);
  const latchkeyMicros = latchkeyBefore === null || latchkeyAfter === null ? Number.NaN : ((latchkeyAfter - latchkeyBefore) * 1e6) / totalRequests;
  return { load, apiMicros: (((load.serverCpuPercent ?? Number.NaN) / 100) * 1e6) / load.requestsPerSecond, latchkeyMicros };
}

async function main(): Promise<void> {
  ensureSdkBuilt();
  const dataDir = await mkdtemp(join(tmpdir(), 'latchkey-sdk-bench-'));
  const database = storage === 'PostgreSQL' ? await createTestDatabase() : null;
  const env = {
    DATA_DIR: dataDir,
    ...(database ? { DATABASE_URL: database.url } : {}),
    PRODUCT_FILE,
    LOG_LEVEL: 'warn',
    DEFAULT_CEILING_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE),
  };
  // The service key before the server: PGlite's folder has one holder at a time.
  const { db } = openDatabase({ databaseUrl: database?.url, dataDir });
  let serviceKey: string;
  try {
    await migrateToLatest(db);
    serviceKey = (await createServiceKeys({ db, keyPrefix: 'inv' }).create({ name: 'bench', permissions: ['keys:verify'], workspaceIds: null })).secret;
  } finally {
    await db.destroy();
  }
  const [command, args] = pinnedTo(LATCHKEY_CORE, ['--import', 'tsx', join(ROOT, 'bench/server.ts')]);
  const latchkey = await startServer(command, args, env, await freePort());
  const running: RunningServer[] = [latchkey];
  try {
    const session = await setUp(latchkey.url);
    const created = await fetch(`${latchkey.url}/v1/workspaces/${session.workspaceId}/api-keys`, {
      method: 'POST',
      headers: { ...session.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', scopes: ['invoices:read', 'invoices:write'], rate_limit: { per_minute: RATE_LIMIT_PER_MINUTE } }),
    });
    if (created.status !== 201) throw new Error(`key: ${created.status} ${await created.text()}`);
    const key = ((await created.json()) as { secret: string }).secret;
    const headers = { authorization: `Bearer ${key}` };
    const latchkeyPid = latchkey.child.pid!;

    const results: Record<'unprotected' | 'protected', Measured> = {} as never;
    for (const mode of ['unprotected', 'protected'] as const) {
      const api = await startExample(mode === 'protected' ? 'server.ts' : 'unprotected.ts', { LATCHKEY_URL: latchkey.url, LATCHKEY_SERVICE_KEY: serviceKey });
      running.push(api);
      const seed = await fetch(`${api.url}/v1/invoices`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ customer: 'Bench Ltd', amount_cents: 1000, currency: 'EUR' }),
      });
      if (seed.status !== 201) throw new Error(`${mode}: seeding answered ${seed.status} ${await seed.text()}`);
      results[mode] = await measure(api.url, headers, api.child.pid!, latchkeyPid);
      process.stderr.write(`${mode}: ${Math.round(results[mode].load.requestsPerSecond)} req/s\n`);
      await api.stop();
      running.pop();
    }
    const verify = await loadVerify(latchkey.url, serviceKey, key, latchkeyPid);
    process.stderr.write(`bare verify: ${Math.round(verify.result.requests.average)} req/s\n`);
    const report = markdown(results, verify);
    await mkdir(join(ROOT, 'bench/results'), { recursive: true });
    await writeFile(join(ROOT, `bench/results/sdk-middleware${database ? '-postgres' : ''}.md`), report);
    process.stdout.write(report);
  } finally {
    for (const server of running.reverse()) await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    await database?.drop();
  }
}

/** The 1-minute load average: on a shared machine, how many others wanted the same two cores. */
function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? 'n/a';
  } catch {
    return 'n/a';
  }
}
const loadAtStart = loadAverage();

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const p = (r: LoadResult, which: 'p50Ms' | 'p99Ms') => r.exact?.[which] ?? r[which];

function markdown(results: Record<'unprotected' | 'protected', Measured>, verify: { result: autocannon.Result; latchkeyMicros: number }): string {
  const m = machine();
  const { unprotected: bare, protected: guarded } = results;
  const ratio = (guarded.load.requestsPerSecond / bare.load.requestsPerSecond) * 100;
  const row = (name: string, r: Measured) => [
    name,
    fmt(r.load.requestsPerSecond),
    fmt(p(r.load, 'p50Ms'), 2),
    fmt(p(r.load, 'p99Ms'), 2),
    fmt(r.apiMicros),
    name === 'unprotected' ? '—' : fmt(r.latchkeyMicros),
    fmt(r.load.otherCpuPercent ?? Number.NaN),
    JSON.stringify(r.load.statusCodes),
  ];
  const table = markdownTable(
    ['example API', 'req/s', 'p50 ms', 'p99 ms', 'API CPU µs/req', 'Latchkey CPU µs/req', 'other processes, % of a core', 'status codes'],
    [row('unprotected', bare), row('protected by latchkey.express()', guarded)],
  );
  const v = verify.result;
  const verifyTable = markdownTable(
    ['call', 'req/s', 'p50 ms', 'p99 ms', 'Latchkey CPU µs/req', 'non-2xx'],
    [['POST /v1/keys/verify (bare, cached key)', fmt(v.requests.average), fmt(v.latency.p50, 0), fmt(v.latency.p99, 0), fmt(verify.latchkeyMicros), String(v.non2xx)]],
  );
  const addedApi = guarded.apiMicros - bare.apiMicros;
  const addedP50 = p(guarded.load, 'p50Ms') - p(bare.load, 'p50Ms');
  return `# SDK middleware: the invoices example guarded by @latchkey/sdk vs unguarded

- Date: ${new Date().toISOString()}
- Command: \`${['node --import tsx bench/sdk-middleware.ts', ...process.argv.slice(2)].join(' ')}\`
- Node ${m.node}; CPU: ${m.cpu} (${m.cores} cores available)
- Layout: ${pinning ? `the example API pinned to core ${API_CORE} (both runs); Latchkey and autocannon on core ${LATCHKEY_CORE} (taskset)` : 'not pinned (no taskset or fewer than 2 cores)'}
- Latchkey: bench/server.ts (src through tsx), audit log on, ${storage}, PRODUCT_FILE=examples/invoices/latchkey.product.yaml; one live key with invoices:read, ${RATE_LIMIT_PER_MINUTE} requests per minute, cached after its first call
- Machine load (1-minute load average): ${loadAtStart} at the start, ${loadAverage()} at the end, on ${m.cores} cores
- Route: \`GET ${PATH}\` (one invoice in the tenant's book); load: autocannon, ${settings.connections} connections, ${settings.warmupSeconds} s warm-up then ${settings.durationSeconds} s measured

## Result

| | |
| --- | --- |
| guarded / unguarded req/s | **${fmt(ratio, 1)} %** (target ≥ 60 %: ${ratio >= 60 ? 'met' : '**missed**'}) |

${table}

${verifyTable}

## Where the time goes

- Each guarded request makes one verify round trip (a kept-alive HTTP POST to Latchkey). On the API's own
  core it adds **${fmt(addedApi)} µs** of CPU per request (${fmt(bare.apiMicros)} → ${fmt(guarded.apiMicros)} µs: the
  HTTP client call, JSON in and out, the decision), and Latchkey spends ${fmt(guarded.latchkeyMicros)} µs per verify
  on the other core (its figure includes the check, the audit event and the HTTP server).
- Latency: the p50 grows by ${fmt(addedP50, 2)} ms; a bare verify's p50 under the same number of connections is
  ${fmt(v.latency.p50, 0)} ms (autocannon's whole milliseconds), i.e. the verify round trip is most of the added latency.
- The guarded API's throughput is bounded by whichever core saturates first: the API's (its own work plus the
  verify client) or Latchkey's (shared with autocannon on this 2-core machine).
`;
}

await main();
