/**
 * What every benchmark needs: the real server as a child process on its own core, a signed-in workspace
 * and keys made over HTTP (as an operator would), and autocannon on the other core.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startServer } from '../test/process.js';
import { createTestDatabase } from '../test/services.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

// Server and load generator on different cores, so that neither steals the other's CPU and the server's
// figure is what one core can do. Without taskset or a second core they share, and the report says so.
const SERVER_CORE = 0;
const LOAD_CORE = 1;
export const pinning = availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;

export function pinningDescription(): string {
  return pinning ? `server on core ${SERVER_CORE}, load generator on core ${LOAD_CORE} (taskset)` : 'none (no taskset or fewer than 2 cores)';
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
  connections: number;
  pipelining: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Whose CPU time to measure during the measured part (the server). */
  serverPid?: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  /** autocannon records latency in whole milliseconds: p50 0 means under 1 ms; the mean keeps the fraction. */
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Share of one core used during the measured part; the server near 100% means it, not the client, was the limit. */
  serverCpuPercent: number | null;
  clientCpuPercent: number;
  /** CPU used by everything else on the machine meanwhile (in % of one core): the noise on a shared machine. */
  otherCpuPercent: number | null;
  /** When the measured part ran, in µs of the monotonic clock that V8's CPU profiles use (for cpu-profile-top --from/--to). */
  measuredFromUs: number;
  measuredToUs: number;
}

/** Runs bench/load.ts (autocannon) pinned to the load core; warm-up first, then the measured run. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const [command, args] = pinned(LOAD_CORE, process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'load.ts'), JSON.stringify(options)]);
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

export function machine(): { node: string; cpu: string; cores: number } {
  return { node: process.version, cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: availableParallelism() };
}

export function mean(values: number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}
