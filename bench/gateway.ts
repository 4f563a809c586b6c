/**
 * What does Latchkey's gateway cost in front of an API? Against a bare `node:http` upstream
 * (bench/gateway-upstream.ts, a process of its own), in one run: (a) straight to the upstream, (b) through
 * a plain proxy on the same library with the gateway's options and no auth (bench/gateway-proxy.ts: the
 * ceiling), (c) through Latchkey's gateway with a cached key and the audit log on, as every deployment
 * runs, and (d) the same gateway with the audit log off, which splits the audit's share from the rest.
 * Targets (issue 12): (c) ≥ 75% of (b)'s requests per second, and (c)'s p99 ≤ (b)'s p99 + 1 ms.
 * Then a 100 MiB upload and a 100 MiB download through each: throughput, and the resident memory of the
 * process in the middle sampled during the transfer (a streamed body keeps it flat).
 *
 * Latchkey runs as an operator would run it: a product file with a gateway section, GATEWAY_PORT, a service
 * key made with the CLI before the start, a workspace and its keys made over the management API with it.
 * Two Latchkeys (bench/server.ts: audit on, audit off) and the plain proxy share the server core; the
 * upstream shares the load core with autocannon (two cores: see the report's layout line).
 *
 *   npx tsx bench/gateway.ts [--duration 10] [--warmup 3] [--connections 10] [--rounds 3]
 *                            [--transfer-mb 100] [--cpu-prof DIR]
 */
import { execFile } from 'node:child_process';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs, promisify } from 'node:util';
import { freePort, startServer, type RunningServer } from '../test/process.js';
import { createTestDatabase } from '../test/services.js';
import {
  cpuSeconds,
  describeNon2xx,
  DRAIN_TIMEOUT_S,
  drainAudit,
  LOAD_FLAGS,
  loadSettings,
  machine,
  markdownTable,
  mean,
  pinning,
  ROOT,
  rssBytes,
  runBenchmark,
  runLoad,
  scrapeMetrics,
  serverMicrosPerRequest,
  wholeNumberFlag,
  type AuditDrain,
  type LoadResult,
} from './lib.js';
import { profileHint } from './profile-hint.js';

const TARGET_PERCENT = 75;
const TARGET_P99_EXTRA_MS = 1;
/** The highest ceiling the config accepts; a fresh key per round stays under it. */
const RATE_LIMIT_PER_MINUTE = 1_000_000;
/** Server CPU (% of its core) from which the process in the middle, not the machine, set the pace. */
const SATURATED_PERCENT = 90;
// As bench/lib.ts places them: what is measured on core 0, the load generator on core 1. The upstream
// goes with the load generator, so the proxies have the server core to themselves.
const SERVER_CORE = 0;
const LOAD_CORE = 1;
const PATH = '/v1/invoices/inv_1';
const MIB = 1024 * 1024;

const { values: flags } = parseArgs({
  options: {
    ...LOAD_FLAGS,
    rounds: { type: 'string', default: '3' },
    'transfer-mb': { type: 'string', default: '100' },
    // Each Latchkey on a fresh PostgreSQL database instead of PGlite: the audit log's writes leave the gateway's process.
    postgres: { type: 'boolean', default: false },
    // Writes CPU profiles of the proxy and both gateways to DIR; a profiled server is slower, so nothing is saved.
    'cpu-prof': { type: 'string' },
  },
});

const settings = loadSettings(flags);
const transferBytes = wholeNumberFlag('transfer-mb', flags['transfer-mb'], 1) * MIB;
const profileDir = flags['cpu-prof'];
const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];

function pinnedTo(core: number, args: string[]): [string, string[]] {
  return pinning ? ['taskset', ['-c', String(core), process.execPath, ...args]] : [process.execPath, args];
}

interface Gateway {
  /** The main listener (management API, /metrics). */
  url: string;
  gatewayUrl: string;
  pid: number;
  output(): string;
  serviceKey: string;
  workspaceId: string;
  stop(): Promise<void>;
}

const route = (method: string, path: string, scope: string) => ({ method, path, upstream: 'invoices', scope });
/** The measured route among others, as a real API has them (routes match first to last). */
const ROUTES = [
  route('GET', '/v1/invoices', 'invoices:read'),
  route('POST', '/v1/invoices', 'invoices:write'),
  route('POST', '/v1/invoices/{id}/pay', 'payments:write'),
  route('GET', '/v1/invoices/{id}', 'invoices:read'),
  route('POST', '/v1/uploads', 'invoices:write'),
  route('GET', '/v1/download', 'invoices:read'),
  route('GET', '/v1/headers', 'invoices:read'),
];

/** The product file: an invoices API behind the gateway. */
function productFile(upstreamUrl: string): string {
  return JSON.stringify({
    name: 'Invoicely',
    key_prefix: 'inv',
    scopes: [
      { scope: 'invoices:read', group: 'Invoices', description: 'List and read invoices' },
      { scope: 'invoices:write', group: 'Invoices', description: 'Create invoices and upload attachments' },
      { scope: 'payments:write', group: 'Payments', description: 'Record the payment of an invoice' },
    ],
    gateway: {
      max_body_mb: Math.ceil(transferBytes / MIB) + 1,
      upstreams: { invoices: { url: upstreamUrl, timeout_ms: 30_000 } },
      routes: ROUTES,
    },
  });
}

async function expectJson(response: Response, status: number, what: string): Promise<Record<string, unknown>> {
  const text = await response.text();
  if (response.status !== status) throw new Error(`${what}: expected ${status}, got ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Until something accepts connections on the port: the gateway listens after the main listener answers /healthz. */
async function waitForPort(port: number): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => resolve(true)).on('error', () => resolve(false));
      socket.unref();
      setTimeout(() => socket.destroy(), 1000).unref();
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on port ${port}`);
}

async function startGateway(upstreamUrl: string, audit: boolean): Promise<Gateway> {
  const folder = await mkdtemp(join(tmpdir(), 'latchkey-gw-bench-'));
  const database = flags.postgres ? await createTestDatabase() : null;
  const cleanup = async () => {
    await database?.drop().catch((error: unknown) => process.stderr.write(`could not drop the bench database: ${String(error)}\n`));
    await rm(folder, { recursive: true, force: true });
  };
  const env = {
    ...(database ? { DATABASE_URL: database.url } : {}),
    DATA_DIR: join(folder, 'data'),
    PRODUCT_FILE: join(folder, 'product.json'),
    LOG_LEVEL: 'warn',
    DEFAULT_CEILING_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE),
  };
  let server: RunningServer | null = null;
  try {
    await writeFile(env.PRODUCT_FILE, productFile(upstreamUrl));
    // The operator's CLI, before the server starts: PGlite's folder has one holder at a time.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'create-service-key', '--name', 'bench-backend', '--permissions', 'workspaces:write,keys:write'],
      { cwd: ROOT, env: { ...process.env, ...env } },
    );
    const serviceKey = stdout.trim();
    const gatewayPort = await freePort();
    const [command, args] = pinnedTo(SERVER_CORE, [...nodeArgs, '--import', 'tsx', join(ROOT, 'bench', 'server.ts')]);
    server = await startServer(command, args, { ...env, GATEWAY_PORT: String(gatewayPort), ...(audit ? {} : { BENCH_AUDIT: 'off' }) }, await freePort());
    await waitForPort(gatewayPort);
    const workspace = await expectJson(
      await fetch(`${server.url}/v1/workspaces`, {
        method: 'POST',
        headers: { authorization: `Bearer ${serviceKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Acme Corp', external_id: 'acme-42' }),
      }),
      201,
      'POST /v1/workspaces',
    );
    const running = server;
    return {
      url: server.url,
      gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
      pid: server.child.pid!,
      output: running.output,
      serviceKey,
      workspaceId: String(workspace.id),
      async stop() {
        await running.stop();
        await cleanup();
      },
    };
  } catch (error) {
    if (server) process.stderr.write(`server output:\n${server.output()}\n`);
    await server?.stop();
    await cleanup();
    throw error;
  }
}

/** A key made with the service key, as a SaaS backend provisions a customer: an allowlist and meta, as production keys have. */
async function createKey(gateway: Gateway): Promise<string> {
  const created = await expectJson(
    await fetch(`${gateway.url}/v1/workspaces/${gateway.workspaceId}/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.serviceKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'acme erp',
        scopes: ['invoices:read', 'invoices:write'],
        rate_limit: { per_minute: RATE_LIMIT_PER_MINUTE },
        ip_allowlist: ['127.0.0.0/8'],
        meta: { plan: 'pro', account: 'acme-42' },
      }),
    }),
    201,
    'POST /v1/workspaces/{id}/api-keys',
  );
  return String(created.secret);
}

/** The key works through the gateway, and the upstream got a principal instead of it (else the figures measure refusals). */
async function checkGateway(gateway: Gateway, secret: string): Promise<void> {
  const seen = (await expectJson(await fetch(`${gateway.gatewayUrl}/v1/headers`, { headers: { authorization: `Bearer ${secret}` } }), 200, 'GET /v1/headers through the gateway')) as unknown as string[];
  if (seen.includes('authorization') || !seen.includes('latchkey-principal')) throw new Error(`the upstream received ${seen.join(', ')}`);
  await expectJson(await fetch(`${gateway.gatewayUrl}${PATH}`, { headers: { authorization: `Bearer ${secret}` } }), 200, `GET ${PATH} through the gateway`);
}

interface Target {
  name: string;
  short: string;
  url: string;
  /** The process the request passes through (the upstream itself for (a)), whose CPU and memory are measured. */
  pid: number;
  gateway?: Gateway;
  headers: Record<string, string>;
  runs: Array<LoadResult & { upstreamCpuPercent: number | null }>;
  drains: AuditDrain[];
  transfers: Transfer[];
}

/** One load run, with the upstream's CPU over it (warm-up included: the same load throughout). */
async function measure(target: Target, upstreamPid: number): Promise<void> {
  const before = target.gateway ? await scrapeMetrics(target.gateway.url) : null;
  const upstreamBefore = cpuSeconds(upstreamPid);
  const started = performance.now();
  const result = await runLoad({ ...settings, url: `${target.url}${PATH}`, headers: target.headers, serverPid: target.pid, exactLatency: true });
  const upstreamAfter = cpuSeconds(upstreamPid);
  const seconds = (performance.now() - started) / 1000;
  const upstreamCpuPercent = upstreamBefore === null || upstreamAfter === null ? null : (100 * (upstreamAfter - upstreamBefore)) / seconds;
  target.runs.push({ ...result, upstreamCpuPercent });
  const drain = before && target.gateway ? await drainAudit(target.gateway.url, before) : null;
  if (drain) target.drains.push(drain);
  process.stderr.write(
    `${target.short}: ${Math.round(result.requestsPerSecond)} req/s, p99 ${result.exact?.p99Ms.toFixed(2)} ms, CPU ${result.serverCpuPercent?.toFixed(0)}%${drain ? `; audit drained in ${drain.seconds?.toFixed(1) ?? `> ${DRAIN_TIMEOUT_S}`} s, ${drain.dropped} dropped` : ''}\n`,
  );
}

interface Transfer {
  direction: 'upload' | 'download';
  bytes: number;
  seconds: number;
  /** Resident memory of the process in the middle: just before, and the highest sample during the transfer. */
  rssBefore: number | null;
  rssPeak: number | null;
}

function* chunks(bytes: number): Generator<Buffer> {
  const chunk = Buffer.alloc(64 * 1024, 'y');
  for (let left = bytes; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
}

/** One request with a body of `transferBytes` sent or received, streamed, the middle process's RSS sampled every 10 ms. */
async function transfer(target: Target, direction: Transfer['direction']): Promise<Transfer> {
  const rssBefore = rssBytes(target.pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    const rss = rssBytes(target.pid);
    if (rss !== null && (rssPeak === null || rss > rssPeak)) rssPeak = rss;
  }, 10);
  const started = performance.now();
  try {
    const upload = direction === 'upload';
    const url = upload ? `${target.url}/v1/uploads` : `${target.url}/v1/download?bytes=${transferBytes}`;
    const headers = upload ? { ...target.headers, 'content-type': 'application/octet-stream', 'content-length': String(transferBytes) } : target.headers;
    let received = 0;
    let answer = '';
    const status = await new Promise<number>((resolve, reject) => {
      const outgoing = request(url, { method: upload ? 'POST' : 'GET', headers }, (response) => {
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (upload) answer += chunk.toString();
        });
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      });
      outgoing.on('error', reject);
      if (upload) pipeline(Readable.from(chunks(transferBytes)), outgoing).catch(reject);
      else outgoing.end();
    });
    const moved = upload ? ((JSON.parse(answer || '{}') as { bytes?: number }).bytes ?? 0) : received;
    if (status !== 200 || moved !== transferBytes) throw new Error(`${target.short} ${direction}: status ${status}, ${moved} of ${transferBytes} bytes: ${answer.slice(0, 300)}`);
    return { direction, bytes: moved, seconds: (performance.now() - started) / 1000, rssBefore, rssPeak };
  } finally {
    clearInterval(sampler);
  }
}

async function main(): Promise<number> {
  const started: Array<{ stop(): Promise<void> }> = [];
  const upstreamPort = await freePort();
  const upstream = await startServer(...pinnedTo(LOAD_CORE, ['--import', 'tsx', join(ROOT, 'bench', 'gateway-upstream.ts')]), {}, upstreamPort);
  started.push(upstream);
  let targets: Target[] = [];
  let gateways: Gateway[] = [];
  try {
    const upstreamPid = upstream.child.pid!;
    const proxy = await startServer(...pinnedTo(SERVER_CORE, [...nodeArgs, '--import', 'tsx', join(ROOT, 'bench', 'gateway-proxy.ts')]), { UPSTREAM_URL: upstream.url }, await freePort());
    started.push(proxy);
    const audited = await startGateway(upstream.url, true);
    started.push(audited);
    const quiet = await startGateway(upstream.url, false);
    started.push(quiet);
    gateways = [audited, quiet];
    const target = (name: string, short: string, url: string, pid: number, gateway?: Gateway): Target => ({ name, short, url, pid, headers: {}, runs: [], drains: [], transfers: [], ...(gateway ? { gateway } : {}) });
    targets = [
      target('(a) straight to the upstream', 'direct', upstream.url, upstreamPid),
      target('(b) plain proxy (Fastify + reply-from, no auth): the ceiling', 'proxy', proxy.url, proxy.child.pid!),
      target('(c) Latchkey gateway, cached key, audit on', 'gateway', audited.gatewayUrl, audited.pid, audited),
      target('(d) Latchkey gateway, cached key, audit off', 'gateway-no-audit', quiet.gatewayUrl, quiet.pid, quiet),
    ];

    for (let round = 1; round <= settings.rounds; round++) {
      // A fresh key each round (its per-minute limit would otherwise run out), cached by the check's requests.
      for (const t of targets) {
        if (!t.gateway) continue;
        const secret = await createKey(t.gateway);
        await checkGateway(t.gateway, secret);
        t.headers = { authorization: `Bearer ${secret}` };
      }
      // Every other round backwards, so that a drift of the machine's load falls on all alike.
      const order = round % 2 === 1 ? targets : [...targets].reverse();
      process.stderr.write(`round ${round}\n`);
      for (const t of order) await measure(t, upstreamPid);
    }
    // Twice each: the first transfer also grows the pools a process keeps (buffers, sockets), the second shows whether memory stays put.
    for (const t of targets.slice(0, 3)) {
      for (const direction of ['upload', 'download', 'upload', 'download'] as const) {
        const done = await transfer(t, direction);
        t.transfers.push(done);
        process.stderr.write(`${t.short} ${direction}: ${((done.bytes / MIB) / done.seconds).toFixed(0)} MiB/s, RSS +${(((done.rssPeak ?? 0) - (done.rssBefore ?? 0)) / MIB).toFixed(1)} MiB\n`);
      }
    }
  } catch (error) {
    for (const gateway of gateways) process.stderr.write(`Latchkey (pid ${gateway.pid}) output:\n${gateway.output()}\n`);
    throw error;
  } finally {
    for (const child of started.reverse()) await child.stop();
  }

  if (profileDir) {
    process.stdout.write(`${summaryTable(targets)}\n\nprofiles in ${profileDir} (proxy pid ${targets[1]?.pid}, gateway audit on pid ${targets[2]?.pid}, audit off pid ${targets[3]?.pid}; a profiled server is slower: nothing saved). Summarize one target with\n`);
    for (const t of targets.slice(1)) process.stdout.write(`${profileHint(profileDir, t.name, t.runs)}\n`);
    return 0;
  }

  const report = markdown(targets);
  const file = `gateway${flags.postgres ? '-postgres' : ''}.md`;
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(ROOT, 'bench', 'results', file), report);
  process.stdout.write(`${report}\nwritten to bench/results/${file}\n`);
  const failures = targets.flatMap((t) => t.runs.filter((r) => r.errors > 0 || r.non2xx > 0).map((r) => `${t.short}: ${describeNon2xx(r)}`));
  if (failures.length > 0) {
    process.stderr.write(`\nINVALID RUN: responses other than 2xx or connection errors:\n  ${failures.join('\n  ')}\n`);
    return 1;
  }
  return 0; // a missed target is a finding, not a failure
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);
const cpu = (percent: number | null) => (percent === null || Number.isNaN(percent) ? 'n/a' : `${fmt(percent, 0)}%`);
const exactP = (r: LoadResult, p: 'p50Ms' | 'p99Ms') => r.exact?.[p] ?? Number.NaN;
const mib = (bytes: number | null) => (bytes === null ? 'n/a' : fmt(bytes / MIB));

function summaryTable(targets: Target[]): string {
  const rows = targets.map((t) => [
    t.name,
    fmt(mean(t.runs.map((r) => r.requestsPerSecond)), 0),
    fmt(mean(t.runs.map((r) => exactP(r, 'p50Ms'))), 2),
    fmt(mean(t.runs.map((r) => exactP(r, 'p99Ms'))), 2),
    `${fmt(mean(t.runs.map((r) => r.p50Ms)), 0)} / ${fmt(mean(t.runs.map((r) => r.p99Ms)), 0)}`,
    cpu(mean(t.runs.map((r) => r.serverCpuPercent ?? Number.NaN))),
    fmt(mean(t.runs.map(serverMicrosPerRequest)), 0),
    t.short === 'direct' ? '(is the server)' : cpu(mean(t.runs.map((r) => r.upstreamCpuPercent ?? Number.NaN))),
    cpu(mean(t.runs.map((r) => r.clientCpuPercent))),
    cpu(mean(t.runs.map((r) => r.otherCpuPercent ?? Number.NaN))),
  ]);
  return markdownTable(
    ['target (mean of rounds)', 'req/s', 'p50 ms', 'p99 ms', 'autocannon p50 / p99 ms', 'CPU of the process in the middle', 'its µs/req', 'upstream CPU', 'client CPU', 'other CPU'],
    rows,
  );
}

function rawTable(targets: Target[]): string {
  const rows = targets.flatMap((t) =>
    t.runs.map((r, i) => [
      t.short,
      String(i + 1),
      fmt(r.requestsPerSecond, 0),
      fmt(exactP(r, 'p50Ms'), 2),
      fmt(exactP(r, 'p99Ms'), 2),
      JSON.stringify(r.statusCodes),
      String(r.errors),
      cpu(r.serverCpuPercent),
      fmt(serverMicrosPerRequest(r), 0),
      cpu(r.upstreamCpuPercent),
      cpu(r.clientCpuPercent),
      cpu(r.otherCpuPercent),
      t.drains[i] ? `${t.drains[i].written} written, ${t.drains[i].dropped} dropped, ${t.drains[i].seconds === null ? `> ${DRAIN_TIMEOUT_S}` : fmt(t.drains[i].seconds ?? 0)} s` : '',
    ]),
  );
  return markdownTable(['target', 'round', 'req/s', 'p50 ms', 'p99 ms', 'status codes', 'errors', 'middle CPU', 'µs/req', 'upstream CPU', 'client CPU', 'other CPU', 'audit after the run'], rows);
}

function transferTable(targets: Target[]): string {
  const rows = targets.flatMap((t) =>
    t.transfers.map((x) => [
      t.short,
      x.direction,
      fmt(x.bytes / MIB, 0),
      fmt(x.bytes / MIB / x.seconds, 0),
      mib(x.rssBefore),
      mib(x.rssPeak),
      x.rssPeak === null || x.rssBefore === null ? 'n/a' : fmt((x.rssPeak - x.rssBefore) / MIB),
    ]),
  );
  return markdownTable(['through', 'direction', 'MiB', 'MiB/s', 'RSS before (MiB)', 'RSS peak (MiB)', 'peak − before (MiB)'], rows);
}

function markdown(targets: Target[]): string {
  const [direct, proxy, gateway, quiet] = targets as [Target, Target, Target, Target];
  const reqs = (t: Target) => mean(t.runs.map((r) => r.requestsPerSecond));
  const p99 = (t: Target) => mean(t.runs.map((r) => exactP(r, 'p99Ms')));
  const micros = (t: Target) => mean(t.runs.map(serverMicrosPerRequest));
  const ratio = (100 * reqs(gateway)) / reqs(proxy);
  const cpuRatio = (100 * micros(proxy)) / micros(gateway);
  const p99Extra = p99(gateway) - p99(proxy);
  // As bench/verify.ts: requests per second compare the two only when each saturated its core; else other
  // work on the machine set part of the pace, and CPU time per request is the judge.
  const saturated = [proxy, gateway].every((t) => mean(t.runs.map((r) => r.serverCpuPercent ?? 0)) >= SATURATED_PERCENT);
  const judged = saturated ? ratio : cpuRatio;
  const auditShare = (100 * (micros(gateway) - micros(quiet))) / micros(gateway);
  const growth = (x: Transfer) => (x.rssPeak === null || x.rssBefore === null ? Number.NaN : x.rssPeak - x.rssBefore);
  const first = (t: Target) => Math.max(...t.transfers.slice(0, 2).map(growth));
  const repeated = (t: Target) => Math.max(...t.transfers.slice(2).map(growth));
  // A body held in memory would add at least its own size, every time; a streamed one adds buffers and
  // garbage not yet collected, which the first transfer grows (bare node:http too) and later ones reuse.
  const flat = repeated(gateway) < transferBytes / 2;
  const m = machine();
  return `# Gateway vs a plain proxy${flags.postgres ? ' (PostgreSQL)' : ''}

- Date: ${new Date().toISOString()}
- Command: \`${['npx tsx bench/gateway.ts', ...process.argv.slice(2)].join(' ')}\`
- Node ${m.node}; CPU: ${m.cpu} (${m.cores} cores available)
- Layout: ${pinning ? `the plain proxy and both Latchkeys on core ${SERVER_CORE}; autocannon and the upstream on core ${LOAD_CORE} (taskset)` : 'not pinned (no taskset or fewer than 2 cores)'}
- Upstream: \`bench/gateway-upstream.ts\` (bare \`node:http\`, a small JSON answer); plain proxy: \`bench/gateway-proxy.ts\` (Fastify + @fastify/reply-from with the gateway's options, no auth)
- Gateway: two \`bench/server.ts\` (the server of \`npm start\`, through tsx), audit on and audit off, ${flags.postgres ? 'each on a fresh PostgreSQL database' : "PGlite (in the process: the audit writer's inserts run on its event loop)"}, \`LOG_LEVEL=warn\`; a product file with a gateway section of ${ROUTES.length} routes (the measured one 4th), \`GATEWAY_PORT\`; a service key from \`src/cli.ts create-service-key\`, then a workspace and, each round, a fresh key made with it over the management API (allowlist 127.0.0.0/8, meta, ${RATE_LIMIT_PER_MINUTE}/min), cached by a first request
- Load: autocannon, \`GET ${PATH}\`, ${settings.connections} connections, ${settings.warmupSeconds} s warm-up then ${settings.durationSeconds} s measured per run; ${settings.rounds} rounds, every other one in reverse order; after each audit-on run the next waits until the audit writer has drained

## Result (mean of ${settings.rounds} rounds)

${summaryTable(targets)}

- (c) / (b): **${fmt(ratio)}%** of the plain proxy's requests per second, **${fmt(cpuRatio)}%** by CPU time per request of the process in the middle; judged on ${saturated ? "requests per second (the proxy's and the gateway's core was the limit)" : `CPU time per request (the proxy or the gateway used less than ${SATURATED_PERCENT}% of its core: other work on the machine set part of the pace, and requests per second measure that)`}; target ≥ ${TARGET_PERCENT}%: **${judged >= TARGET_PERCENT ? 'met' : 'missed'}**
- (c)'s p99 − (b)'s p99: **${fmt(p99Extra, 2)} ms** (${fmt(p99(gateway), 2)} vs ${fmt(p99(proxy), 2)} ms); target ≤ ${TARGET_P99_EXTRA_MS} ms: **${p99Extra <= TARGET_P99_EXTRA_MS ? 'met' : 'missed'}**
- The audit log's share of the gateway's CPU time per request: ${fmt(auditShare)}% (${fmt(micros(gateway), 0)} µs with it, ${fmt(micros(quiet), 0)} µs without, the plain proxy ${fmt(micros(proxy), 0)} µs); (d) / (b): ${fmt((100 * reqs(quiet)) / reqs(proxy))}% of the requests per second, ${fmt((100 * micros(proxy)) / micros(quiet))}% by CPU time per request. Straight to the upstream: ${fmt(reqs(direct), 0)} req/s.

p50 and p99 are from every response's own time (fractions of a millisecond); autocannon's own are whole
milliseconds. "The process in the middle" is the one measured: the upstream for (a), the proxy for (b), Latchkey for (c) and (d).
Upstream CPU is over the warm-up and the measured part (the same load). Other CPU: everything but that process
and autocannon, in % of one core, out of ${m.cores * 100}% (the upstream is in it): well above the upstream's own
share means other work on the machine ran meanwhile.

## ${fmt(transferBytes / MIB, 0)} MiB through the gateway

${transferTable(targets.slice(0, 3))}

- The gateway's resident memory, peak − before, in the repeated transfers: at most ${fmt(repeated(gateway) / MIB)} MiB for ${fmt(transferBytes / MIB, 0)} MiB moved (the plain proxy: ${fmt(repeated(proxy) / MIB)} MiB); a body held in memory would add at least its size each time: ${flat ? '**No growth** with the body' : '**RSS grows** with the body'}. The first transfer each way: the gateway ${fmt(first(gateway) / MIB)} MiB, the plain proxy ${fmt(first(proxy) / MIB)} MiB, the bare upstream receiving it straight ${fmt(first(direct) / MIB)} MiB.

RSS is /proc VmRSS of the process in the middle (for "direct", the upstream), sampled every 10 ms; each transfer
is one HTTP request from this script, twice each way: the first also grows what a process keeps for later
(buffers, heap not yet collected), the repeat shows whether it stays put. With the audit log on, the gateway hashes the upload on the way (the
audit event's argument hash).

## Raw runs

${rawTable(targets)}
`;
}

runBenchmark('gateway', main);
