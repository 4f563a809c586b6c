/**
 * What every benchmark needs: the real server as a child process on its own core, a signed-in workspace
 * and keys made over HTTP (as an operator would), and autocannon on the other core.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Db } from '../src/db/client.js';
import { freePort, startServer } from '../test/process.js';
import { createTestDatabase } from '../test/services.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

// Server and load generator on different cores, so that neither steals the other's CPU and the server's
// figure is what one core can do. Without taskset or a second core they share, and the report says so.
const SERVER_CORE = 0;
const LOAD_CORE = 1;
// A hostile client (bench/under-attack.ts) gets a core of its own when there is a third, so that it does
// not take CPU from the valid client whose latency is measured; on two cores it shares the load core.
const ATTACK_CORE = availableParallelism() >= 3 ? 2 : LOAD_CORE;
export const pinning = availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;

export function pinningDescription(): string {
  return pinning ? `server on core ${SERVER_CORE}, load generator on core ${LOAD_CORE} (taskset)` : 'none (no taskset or fewer than 2 cores)';
}

/** Where a hostile client runs, for the reports. */
export function attackPinningDescription(): string {
  if (!pinning) return 'not pinned';
  return ATTACK_CORE === LOAD_CORE ? `core ${ATTACK_CORE}, shared with the valid client (only ${availableParallelism()} cores)` : `core ${ATTACK_CORE}, a core of its own`;
}

function pinned(core: number, command: string, args: string[]): [string, string[]] {
  return pinning ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
}

/** The benchmark runs what `npm start` runs: the compiled server. */
export function ensureBuilt(): void {
  if (existsSync(join(ROOT, 'dist', 'main.js'))) return;
  process.stderr.write('dist/ is missing: npm run build\n');
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
}

export interface LatchkeyOptions {
  /** Extra server environment (PORT, DATA_DIR and DATABASE_URL are set here). */
  env?: Record<string, string>;
  /** A fresh database on PostgreSQL instead of the embedded PGlite. */
  postgres?: boolean;
  /** Flags for node itself, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /**
   * Unset: the built server, `node dist/main.js`, as `npm start` runs it. true or false: bench/server.ts
   * (the same server through tsx) with the audit log on or off, to measure what it costs.
   */
  audit?: boolean;
  /**
   * Runs on the migrated, still empty database before the server starts (e.g. bench/seed-keys.ts), then
   * the connection is closed: PGlite's data folder has one holder at a time, and a server that starts
   * after the seeding also starts with nothing in its key cache.
   */
  beforeStart?: (db: Db) => Promise<void>;
}

export interface Latchkey {
  url: string;
  pid: number;
  storage: 'PGlite' | 'PostgreSQL';
  output(): string;
  /** SIGTERM, then removes the data folder and drops the database. */
  stop(): Promise<void>;
}

export async function startLatchkey(options: LatchkeyOptions = {}): Promise<Latchkey> {
  ensureBuilt();
  const dataDir = await mkdtemp(join(tmpdir(), 'latchkey-bench-'));
  let database: Awaited<ReturnType<typeof createTestDatabase>> | null = null;
  const cleanup = async () => {
    await database?.drop().catch((error: unknown) => process.stderr.write(`could not drop the bench database: ${String(error)}\n`));
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    if (options.postgres) database = await createTestDatabase();
    if (options.beforeStart) {
      // The schema of the code the server runs: dist/ can lag behind src/ (a migration added, not yet built).
      const tree = options.audit === undefined ? 'dist' : 'src';
      const load = async <T>(file: string) => (await import(pathToFileURL(join(ROOT, tree, 'db', file)).href)) as T;
      const { openDatabase } = await load<typeof import('../src/db/client.js')>('client.js');
      const { migrateToLatest } = await load<typeof import('../src/db/migrate.js')>('migrate.js');
      const { db } = openDatabase({ databaseUrl: database?.url, dataDir });
      try {
        await migrateToLatest(db);
        await options.beforeStart(db);
      } finally {
        await db.destroy();
      }
    }
    const env: Record<string, string> = {
      DATA_DIR: dataDir,
      // At info every request writes a log line, and the benchmark would measure pino instead of Latchkey.
      LOG_LEVEL: 'warn',
      ...(database ? { DATABASE_URL: database.url } : {}),
      ...options.env,
    };
    const entry = options.audit === undefined ? [join(ROOT, 'dist', 'main.js')] : ['--import', 'tsx', join(ROOT, 'bench', 'server.ts')];
    const [command, args] = pinned(SERVER_CORE, process.execPath, [...(options.nodeArgs ?? []), ...entry]);
    if (options.audit === false) env.BENCH_AUDIT = 'off';
    const server = await startServer(command, args, env, await freePort());
    // The server runs in its own process group, so Ctrl-C on the benchmark would not reach it.
    const interrupted = () => void stop().finally(() => process.exit(130));
    process.once('SIGINT', interrupted);
    async function stop() {
      process.off('SIGINT', interrupted);
      try {
        await server.stop();
      } finally {
        await cleanup();
      }
    }
    if (server.child.pid === undefined) throw new Error('server has no pid');
    return { url: server.url, pid: server.child.pid, storage: database ? 'PostgreSQL' : 'PGlite', output: server.output, stop };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

export interface Session {
  url: string;
  workspaceId: string;
  /** Cookie and CSRF token: what every management request that changes something sends. */
  headers: Record<string, string>;
}

async function expectStatus(response: Response, status: number, what: string): Promise<unknown> {
  const body = await response.text();
  if (response.status !== status) throw new Error(`${what}: expected ${status}, got ${response.status}: ${body}`);
  return JSON.parse(body);
}

/** First-run setup: the owner and a workspace, signed in. */
export async function setUp(url: string): Promise<Session> {
  const response = await fetch(`${url}/v1/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'bench@example.com', password: 'correct horse battery staple', workspace_name: 'Bench' }),
  });
  const body = (await expectStatus(response, 201, 'POST /v1/setup')) as { workspace: { id: string }; csrf_token: string };
  const cookie = response.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { url, workspaceId: body.workspace.id, headers: { cookie, 'x-csrf-token': body.csrf_token } };
}

/** Creates a key; `body` is the create request (name, scopes, rate_limit, ip_allowlist). */
export async function createKey(session: Session, body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const response = await fetch(`${session.url}/v1/workspaces/${session.workspaceId}/api-keys`, {
    method: 'POST',
    headers: { ...session.headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await expectStatus(response, 201, 'POST /v1/workspaces/{ws}/api-keys')) as { id: string; secret: string };
}

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  /** GET unless given; `body` is sent as is (set content-type in `headers`). */
  method?: 'GET' | 'POST';
  body?: string;
  connections: number;
  pipelining: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Whose CPU time to measure during the measured part (the server). */
  serverPid?: number;
  /**
   * A different key per request: the secrets file (one per line, bench/seed-keys.ts) and which lines,
   * [from, to), taken in turn by every connection together; Authorization is set per request. After the
   * last line the rotation starts again (LoadResult.keysWrapped says so).
   */
  keys?: { file: string; from?: number; to?: number };
  /** Requests per key file slice for the warm-up: a separate slice, so the measured keys stay unused. */
  warmupKeys?: { file: string; from?: number; to?: number };
  /** Invalid keys instead (a hostile client): see AttackOptions. */
  attack?: AttackOptions;
  /** Stop the measured part after this many requests instead of after durationSeconds. */
  amount?: number;
  /** A fixed request rate (autocannon's overallRate, with its correction for coordinated omission). */
  rate?: number;
  /** Latency percentiles from every 2xx response's own time (fractions of a millisecond), besides autocannon's. */
  exactLatency?: boolean;
  /** Runs the generator under `nice -n N`. */
  niceness?: number;
  /** Pin to the attacker's core (a third core when there is one) instead of the load core. */
  attackCore?: boolean;
}

/**
 * What an attacker sends: `made-up` are well-formed keys with a right checksum that do not exist (each is
 * looked up once: the server's cache of unknown secrets holds 10k, the pool here is larger);
 * `garbage` are wrong checksums, wrong brands, random text and other schemes, refused without a lookup.
 * `sourceIps` > 0 spreads the requests over that many X-Forwarded-For addresses (the server must trust the
 * proxy: TRUST_PROXY=127.0.0.1), as a botnet would, so the per-address failure limit does not stop them.
 */
export interface AttackOptions {
  kinds: Array<'made-up' | 'garbage'>;
  keyPrefix?: string;
  sourceIps?: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  /** autocannon records latency in whole milliseconds: p50 0 means under 1 ms; the mean keeps the fraction. */
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Of which timeouts: no answer within autocannon's 10 s. */
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Share of one core used during the measured part; the server near 100% means it, not the client, was the limit. */
  serverCpuPercent: number | null;
  clientCpuPercent: number;
  /** CPU used by everything else on the machine meanwhile (in % of one core): the noise on a shared machine. */
  otherCpuPercent: number | null;
  /** autocannon's p99.9 (whole milliseconds). */
  p999Ms: number;
  /** From every 2xx response's own time, when LoadOptions.exactLatency (sub-millisecond). */
  exact?: { p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number; samples: number };
  /** Responses in the measured part, all statuses. */
  requests: number;
  /** Seconds the measured part took. */
  seconds: number;
  /** The key rotation came back to its first key (so some keys were used more than once). */
  keysWrapped?: boolean;
  /** When the measured part ran, in µs of the monotonic clock that V8's CPU profiles use (for cpu-profile-top --from/--to). */
  measuredFromUs: number;
  measuredToUs: number;
}

/** Runs bench/load.ts (autocannon) pinned to the load core; warm-up first, then the measured run. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const load = [process.execPath, '--import', 'tsx', join(ROOT, 'bench', 'load.ts'), JSON.stringify(options)];
  const niced = options.niceness === undefined ? load : ['nice', '-n', String(options.niceness), ...load];
  const [command, args] = pinned(options.attackCore ? ATTACK_CORE : LOAD_CORE, niced[0] as string, niced.slice(1));
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`bench/load.ts exited with ${code}`);
  return JSON.parse(stdout) as LoadResult;
}

/** CPU seconds (user + system) a process has used so far, from /proc; null where there is no /proc. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces, closed by the last ')'; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100; // USER_HZ is 100 on every mainstream Linux build
  } catch {
    return null;
  }
}

/** CPU seconds the whole machine has spent busy (all cores, not idle or waiting on I/O), from /proc/stat. */
export function machineBusySeconds(): number | null {
  try {
    const [, ...ticks] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already counted in user)
    const total = ticks.slice(0, 8).reduce((sum, t) => sum + t, 0);
    return (total - (ticks[3] ?? 0) - (ticks[4] ?? 0)) / 100;
  } catch {
    return null;
  }
}

/** Resident memory of a process (VmRSS from /proc), in bytes; null where there is no /proc or it has exited. */
export function rssBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The server's /metrics as `name{labels}` → value (the Prometheus text format, comments skipped). */
export async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  const metrics = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    metrics.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return metrics;
}

/** Sum of a metric over all its label sets whose labels contain `labels` (e.g. 'result="miss"'). */
export function metricSum(metrics: Map<string, number>, name: string, labels = ''): number {
  let sum = 0;
  for (const [key, value] of metrics) {
    const bare = key.split('{')[0];
    if (bare === name && key.includes(labels)) sum += value;
  }
  return sum;
}

/** How long a run's audit events may take to be written before the bench stops waiting. */
export const DRAIN_TIMEOUT_S = 120;

export interface AuditDrain {
  written: number;
  dropped: number;
  /** Seconds from the end of the run until nothing was queued; null: still queued after DRAIN_TIMEOUT_S. */
  seconds: number | null;
}

/** Waits until the server's audit queue is empty (or DRAIN_TIMEOUT_S): what the run left behind, counted from `before`. */
export async function drainAudit(url: string, before: Map<string, number>): Promise<AuditDrain> {
  const started = performance.now();
  for (;;) {
    const metrics = await scrapeMetrics(url);
    const seconds = (performance.now() - started) / 1000;
    const queued = metricSum(metrics, 'latchkey_audit_events_queued');
    if (queued === 0 || seconds > DRAIN_TIMEOUT_S) {
      const delta = (name: string) => metricSum(metrics, name) - metricSum(before, name);
      return { written: delta('latchkey_audit_events_written_total'), dropped: delta('latchkey_audit_events_dropped_total'), seconds: queued === 0 ? seconds : null };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export function machine(): { node: string; cpu: string; cores: number } {
  return { node: process.version, cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: availableParallelism() };
}

export function mean(values: number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

export function markdownTable(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Server CPU time per request in µs (NaN without /proc): steadier than req/s on a shared machine. */
export function serverMicrosPerRequest(r: LoadResult): number {
  return (((r.serverCpuPercent ?? Number.NaN) / 100) * 1e6) / r.requestsPerSecond;
}

/** Status codes and connection errors other than 2xx, e.g. "12 × 429, 0 connection errors". */
export function describeNon2xx(r: LoadResult): string {
  const codes = Object.entries(r.statusCodes).filter(([code]) => !code.startsWith('2')).map(([code, n]) => `${n} × ${code}`);
  return [...codes, `${r.errors} connection errors`].join(', ');
}

/** A whole number flag with a lower bound, for parseArgs' strings. */
/** Runs a benchmark's main: its exit code (0 when it returns none), or 1 with the stack when it throws. */
export function runBenchmark(name: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (error: unknown) => {
      process.stderr.write(`${name} benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}

/** The load flags every throughput benchmark takes (for parseArgs); each adds its own, `rounds` among them. */
export const LOAD_FLAGS = {
  duration: { type: 'string', default: '10' },
  warmup: { type: 'string', default: '3' },
  connections: { type: 'string', default: '10' },
} as const;

/** The load of a run, from LOAD_FLAGS, `rounds` and, where the benchmark offers it, `pipelining` (else 1). */
export function loadSettings(flags: { duration: string; warmup: string; connections: string; rounds: string; pipelining?: string }) {
  return {
    durationSeconds: wholeNumberFlag('duration', flags.duration, 1),
    warmupSeconds: wholeNumberFlag('warmup', flags.warmup, 0),
    connections: wholeNumberFlag('connections', flags.connections, 1),
    pipelining: flags.pipelining === undefined ? 1 : wholeNumberFlag('pipelining', flags.pipelining, 1),
    rounds: wholeNumberFlag('rounds', flags.rounds, 1),
  };
}

export function wholeNumberFlag(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number, at least ${min}`);
  return n;
}
