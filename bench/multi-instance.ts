/**
 * Many instances: three copies of the built server (`node dist/main.js`) on one fresh PostgreSQL
 * database and the shared Redis, as a production fleet runs. Three measurements:
 *
 * 1. throughput: GET /api/v1/ping with a cached key, one autocannon per instance at once, against one
 *    instance alone under the same load (both with Redis);
 * 2. rate-limit exactness: a key with a small per-minute limit hammered on all three instances at once
 *    until --limit-windows whole windows have passed; in each whole window (by X-RateLimit-Reset) the 2xx
 *    must be exactly the limit: never above (over-admission) and, since more than the limit was sent, never
 *    below (under-admission: callers refused although the window had room);
 * 3. revocation propagation: a key cached on all three, revoked through A's management API while B and C
 *    are polled in tight loops; the time from A's response to the first 401 on B and on C.
 *
 *   node --import tsx bench/multi-instance.ts [--duration 10] [--warmup 3] [--connections 10]
 *     [--limit 100] [--limit-windows 2] [--limit-concurrency 8] [--trials 200] [--skip throughput,limit,revocation]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TEST_REDIS_URL, createTestDatabase } from '../test/services.js';
import { cpuSeconds, createKey, machine, machineBusySeconds, pinningDescription, ROOT, runLoad, setUp, startLatchkey, type Latchkey, type LoadResult, type Session, runBenchmark } from './lib.js';

const REVOCATION_TARGET_P99_MS = 50;
const HIGH_LIMIT = 1_000_000;

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    limit: { type: 'string', default: '100' },
    // Whole one-minute windows to cover: the run lasts from now to the end of the last (≤ N + 1 minutes).
    'limit-windows': { type: 'string', default: '2' },
    'limit-concurrency': { type: 'string', default: '8' },
    trials: { type: 'string', default: '200' },
    skip: { type: 'string', default: '' },
  },
});

function wholeNumber(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number, at least ${min}`);
  return n;
}

const settings = {
  durationSeconds: wholeNumber('duration', flags.duration, 1),
  warmupSeconds: wholeNumber('warmup', flags.warmup, 0),
  connections: wholeNumber('connections', flags.connections, 1),
  limit: wholeNumber('limit', flags.limit, 1),
  limitWindows: wholeNumber('limit-windows', flags['limit-windows'], 1),
  limitConcurrency: wholeNumber('limit-concurrency', flags['limit-concurrency'], 1),
  trials: wholeNumber('trials', flags.trials, 1),
};
const skipped = new Set(flags.skip.split(',').filter(Boolean));
for (const part of skipped) if (!['throughput', 'limit', 'revocation'].includes(part)) throw new Error(`--skip: unknown part ${part}`);

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const sum = (values: number[]) => values.reduce((total, v) => total + v, 0);

function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function call(url: string, secret: string): Promise<Response> {
  const response = await fetch(`${url}/api/v1/ping`, { headers: { authorization: `Bearer ${secret}` } });
  await response.arrayBuffer();
  return response;
}

// ---------------------------------------------------------------------------------------------------
// 1. Throughput

interface ThroughputRun {
  label: string;
  perInstance: LoadResult[];
  /** Key-cache lookups during the run (warm-up included), from each instance's /metrics. */
  cache: { hit: number; miss: number }[];
  /** The whole machine's busy CPU during the run (warm-up included), in % of one core. */
  machineBusyPercent: number;
}

async function cacheLookups(url: string): Promise<{ hit: number; miss: number }> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const read = (result: string) => Number(new RegExp(`^latchkey_key_cache_lookups_total\\{result="${result}"\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? 0);
  return { hit: read('hit'), miss: read('miss') };
}

async function throughput(fleet: Latchkey[], session: Session): Promise<ThroughputRun[]> {
  const key = await createKey(session, { name: 'throughput', scopes: ['conversations:read'], rate_limit: { per_minute: HIGH_LIMIT } });
  const headers = { authorization: `Bearer ${key.secret}` };
  for (const server of fleet) if ((await call(server.url, key.secret)).status !== 200) throw new Error('ping did not answer 200 (is dist/ stale? npm run build)');
  const load = async (label: string, servers: Latchkey[]): Promise<ThroughputRun> => {
    const cacheBefore = await Promise.all(servers.map((server) => cacheLookups(server.url)));
    const busyBefore = machineBusySeconds();
    const startedAt = performance.now();
    const perInstance = await Promise.all(
      servers.map((server) =>
        runLoad({ url: `${server.url}/api/v1/ping`, headers, connections: settings.connections, pipelining: 1, warmupSeconds: settings.warmupSeconds, durationSeconds: settings.durationSeconds, serverPid: server.pid }),
      ),
    );
    const busy = (machineBusySeconds() ?? Number.NaN) - (busyBefore ?? Number.NaN);
    const cacheAfter = await Promise.all(servers.map((server) => cacheLookups(server.url)));
    const cache = cacheAfter.map((after, i) => ({ hit: after.hit - cacheBefore[i]!.hit, miss: after.miss - cacheBefore[i]!.miss }));
    return { label, perInstance, cache, machineBusyPercent: (100 * busy) / ((performance.now() - startedAt) / 1000) };
  };
  const runs: ThroughputRun[] = [];
  runs.push(await load('one instance (A) alone', fleet.slice(0, 1)));
  process.stderr.write(`throughput: one instance ${fmt(runs[0]!.perInstance[0]!.requestsPerSecond, 0)} req/s\n`);
  runs.push(await load('three instances at once', fleet));
  process.stderr.write(`throughput: three instances ${fmt(sum(runs[1]!.perInstance.map((r) => r.requestsPerSecond)), 0)} req/s in all\n`);
  return runs;
}

function throughputSection(runs: ThroughputRun[]): string {
  const rows = runs.flatMap((run) => [
    ...run.perInstance.map((r, i) => [run.label, 'ABC'[i]!, fmt(r.requestsPerSecond, 0), fmt(r.meanMs, 2), String(r.p99Ms), String(r.errors), String(r.non2xx), `${fmt(r.serverCpuPercent ?? Number.NaN, 0)}%`, fmt(microsecondsPerRequest(r), 0), `${fmt(r.clientCpuPercent, 0)}%`, `${run.cache[i]!.hit} / ${run.cache[i]!.miss}`]),
    ...(run.perInstance.length > 1
      ? [[`**${run.label}: total**`, '', `**${fmt(sum(run.perInstance.map((r) => r.requestsPerSecond)), 0)}**`, '', '', String(sum(run.perInstance.map((r) => r.errors))), String(sum(run.perInstance.map((r) => r.non2xx))), `${fmt(sum(run.perInstance.map((r) => r.serverCpuPercent ?? Number.NaN)), 0)}%`, '', `${fmt(sum(run.perInstance.map((r) => r.clientCpuPercent)), 0)}%`, '']]
      : []),
  ]);
  const one = sum(runs[0]?.perInstance.map((r) => r.requestsPerSecond) ?? []);
  const three = sum(runs[1]?.perInstance.map((r) => r.requestsPerSecond) ?? []);
  return `## 1. Throughput: GET /api/v1/ping, cached key, ${HIGH_LIMIT} per minute, counted in Redis

${settings.connections} connections per instance, ${settings.warmupSeconds} s warm-up, ${settings.durationSeconds} s measured; one autocannon process per instance, all started together.

${table(['run', 'instance', 'req/s', 'mean ms', 'p99 ms', 'errors', 'non-2xx', 'server CPU', 'server µs/req', 'client CPU', 'cache hits / misses'], rows)}

Three instances answered **${fmt(three, 0)} req/s** in all, ${fmt(one > 0 ? three / one : Number.NaN, 2)} × one instance alone (${fmt(one, 0)} req/s).
The whole machine was busy ${runs.map((run) => `${fmt(run.machineBusyPercent, 0)}% (${run.label})`).join(' and ')} of ${machine().cores * 100}%, everything included (servers, load generators, Redis, PostgreSQL, other work).
${pinningNote()}
`;
}

/** Server CPU time per request, audit log and the Redis round trip included. */
const microsecondsPerRequest = (r: LoadResult) => (((r.serverCpuPercent ?? Number.NaN) / 100) * 1e6) / r.requestsPerSecond;

function pinningNote(): string {
  return machine().cores <= 2
    ? `On this ${machine().cores}-core machine the three servers share one core (${pinningDescription()}) and Redis, PostgreSQL and the load generators share the rest, so the fleet cannot exceed one core's worth of requests: the total says that three instances add no cost per request beyond one (server CPU is the sum of the three), not how a fleet on three machines scales. Each instance's own figure is what it got of the shared core.`
    : `Pinning: ${pinningDescription()}.`;
}

// ---------------------------------------------------------------------------------------------------
// 2. Rate-limit exactness

interface WindowCount {
  resetUnix: number;
  passed: number;
  refused: number;
  other: number;
  /** A window the run did not cover from its start to its end. */
  partial: boolean;
}

async function fallbackDecisions(url: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return Number(/^latchkey_rate_limit_fallbacks_total (\S+)$/m.exec(metrics)?.[1] ?? 0);
}

async function limitExactness(fleet: Latchkey[], session: Session): Promise<{ windows: WindowCount[]; requests: number; perInstance: number[]; fallbacks: number[]; seconds: number }> {
  const fallbacksBefore = await Promise.all(fleet.map((s) => fallbackDecisions(s.url)));
  const key = await createKey(session, { name: 'exactness', scopes: ['conversations:read'], rate_limit: { per_minute: settings.limit } });
  const byReset = new Map<number, { passed: number; refused: number; other: number }>();
  const perInstance = fleet.map(() => 0);
  const startedAt = Date.now();
  // Through the end of the last whole window, plus a margin for the callers' clock and the server's to agree.
  const firstWholeStart = Math.ceil(startedAt / 60_000) * 60_000;
  const endsAt = firstWholeStart + settings.limitWindows * 60_000 + 1000;
  let requests = 0;
  const count = (resetUnix: number, field: 'passed' | 'refused' | 'other') => {
    const entry = byReset.get(resetUnix) ?? { passed: 0, refused: 0, other: 0 };
    entry[field]++;
    byReset.set(resetUnix, entry);
  };
  const loop = async (index: number) => {
    const server = fleet[index]!;
    while (Date.now() < endsAt) {
      const sentAt = Date.now();
      const response = await call(server.url, key.secret);
      requests++;
      if (response.status === 200) {
        perInstance[index]!++;
        count(Number(response.headers.get('x-ratelimit-reset')), 'passed');
      } else {
        // A 429 carries no X-RateLimit-Reset of its own window; it belongs to the minute it was sent in.
        count(Math.floor(sentAt / 60_000) * 60 + 60, response.status === 429 ? 'refused' : 'other');
      }
    }
  };
  process.stderr.write(`rate limit: ${settings.limitWindows} whole window(s), ${Math.round((endsAt - startedAt) / 1000)} s\n`);
  const progress = setInterval(() => process.stderr.write(`rate limit: ${Math.round((Date.now() - startedAt) / 1000)} s, ${requests} requests\n`), 15_000);
  try {
    await Promise.all(fleet.flatMap((_, index) => Array.from({ length: settings.limitConcurrency }, () => loop(index))));
  } finally {
    clearInterval(progress);
  }
  const firstWholeEnd = firstWholeStart / 1000 + 60;
  const windows = [...byReset.entries()]
    .sort(([a], [b]) => a - b)
    .map(([resetUnix, c]) => ({ resetUnix, ...c, partial: resetUnix < firstWholeEnd || resetUnix * 1000 > endsAt }));
  const fallbacksAfter = await Promise.all(fleet.map((s) => fallbackDecisions(s.url)));
  return { windows, requests, perInstance, fallbacks: fallbacksAfter.map((n, i) => n - fallbacksBefore[i]!), seconds: (Date.now() - startedAt) / 1000 };
}

/** A whole window judged: `over` let more than the limit through; `under` let fewer through although more were sent. */
function windowVerdict(w: WindowCount, limit: number): 'exact' | 'over' | 'under' | 'too few sent' {
  if (w.passed > limit) return 'over';
  if (w.passed === limit) return 'exact';
  return w.passed + w.refused + w.other > limit ? 'under' : 'too few sent';
}

function limitSection(result: Awaited<ReturnType<typeof limitExactness>>): string {
  const whole = result.windows.filter((w) => !w.partial);
  const judged = whole.map((w) => ({ w, verdict: windowVerdict(w, settings.limit) }));
  const over = judged.filter((j) => j.verdict === 'over');
  const under = judged.filter((j) => j.verdict === 'under');
  const starved = judged.filter((j) => j.verdict === 'too few sent');
  const rows = result.windows.map((w) => [
    new Date((w.resetUnix - 60) * 1000).toISOString().slice(11, 19),
    new Date(w.resetUnix * 1000).toISOString().slice(11, 19),
    w.partial ? 'partial' : 'whole',
    String(w.passed),
    String(w.refused),
    String(w.other),
    w.partial ? '-' : windowVerdict(w, settings.limit),
  ]);
  const enough = whole.length >= settings.limitWindows;
  // Exact means both ways: a limiter that lets 90 of 100 through while callers wait is as wrong as one that lets 110.
  const met = enough && over.length === 0 && under.length === 0 && starved.length === 0;
  const list = (js: typeof judged) => js.map((j) => j.w.passed).join(', ');
  return `## 2. Rate-limit exactness: ${settings.limit} per minute, hammered on all three instances at once

${settings.limitConcurrency} concurrent callers per instance for ${fmt(result.seconds, 0)} s, through the end of ${settings.limitWindows} whole window(s) (${result.requests} requests); a 2xx counts in the window its X-RateLimit-Reset names, a refusal in the minute it was sent.

${table(['window from (UTC)', 'to', 'covered', '2xx', '429', 'other', 'whole window'], rows)}

2xx per instance over the run: ${result.perInstance.map((n, i) => `${'ABC'[i]} ${n}`).join(', ')}. Decisions made without Redis (\`latchkey_rate_limit_fallbacks_total\`, where limits hold per instance only): ${result.fallbacks.map((n, i) => `${'ABC'[i]} ${n}`).join(', ')}.
Whole windows covered: ${whole.length} of the ${settings.limitWindows} asked${enough ? '' : ' (**too few**: the run ended early)'}. Whole windows above ${settings.limit} 2xx (over-admission): **${over.length}**${over.length ? ` (${list(over)})` : ''}; below ${settings.limit} although more were sent (under-admission): **${under.length}**${under.length ? ` (${list(under)})` : ''}${starved.length ? `; with fewer than ${settings.limit} requests sent, so not a test of the limit: ${starved.length} (raise --limit-concurrency)` : ''}.
**Exactly ${settings.limit} 2xx in every whole window: ${met ? 'met' : 'missed'}**.
`;
}

// ---------------------------------------------------------------------------------------------------
// 3. Revocation propagation

interface Trial {
  /** ms from the revoke response on A to the first 401 on B and on C (0 when a 401 came first). */
  delays: number[];
  /** Calls sent after the revoke response that still answered 200. */
  stale: number;
  /** Each poll's round trip (ms): what one call costs, which the delay includes. */
  roundTrips: number[];
}

/** Polls one instance until it refuses the key, recording when each answer arrived and when its call was sent. */
async function pollUntilRefused(url: string, secret: string, revokedAt: () => number | null, deadline: number): Promise<{ firstRefusalAt: number; stale: number; roundTrips: number[] }> {
  let stale = 0;
  const roundTrips: number[] = [];
  for (;;) {
    const sentAt = performance.now();
    const response = await call(url, secret);
    const arrivedAt = performance.now();
    roundTrips.push(arrivedAt - sentAt);
    const revoked = revokedAt();
    if (response.status === 401) return { firstRefusalAt: arrivedAt, stale, roundTrips };
    if (response.status !== 200) throw new Error(`polling answered ${response.status}`);
    if (revoked !== null && sentAt > revoked) stale++;
    if (arrivedAt > deadline) throw new Error('the revocation did not reach an instance within 10 s');
  }
}

async function revocation(fleet: Latchkey[], session: Session): Promise<Trial[]> {
  const [a, ...others] = fleet as [Latchkey, ...Latchkey[]];
  const trials: Trial[] = [];
  for (let i = 0; i < settings.trials; i++) {
    const key = await createKey(session, { name: `revoke-${i}`, scopes: ['conversations:read'], rate_limit: { per_minute: HIGH_LIMIT } });
    // Cached everywhere: the first call reads PostgreSQL and caches, the second is a hit.
    for (const server of fleet) for (let n = 0; n < 2; n++) if ((await call(server.url, key.secret)).status !== 200) throw new Error('a new key was refused');
    let revokedAt: number | null = null;
    const deadline = performance.now() + 10_000;
    // Polling runs from before the revoke, so a broadcast that beats A's own response is seen too.
    const polls = others.map((server) => pollUntilRefused(server.url, key.secret, () => revokedAt, deadline));
    const response = await fetch(`${a.url}/v1/workspaces/${session.workspaceId}/api-keys/${key.id}`, { method: 'DELETE', headers: session.headers });
    await response.arrayBuffer();
    revokedAt = performance.now();
    if (response.status !== 200) throw new Error(`revoke answered ${response.status}`);
    const results = await Promise.all(polls);
    trials.push({ delays: results.map((r) => Math.max(0, r.firstRefusalAt - revokedAt!)), stale: sum(results.map((r) => r.stale)), roundTrips: results.flatMap((r) => r.roundTrips) });
    if ((i + 1) % 50 === 0) process.stderr.write(`revocation: ${i + 1}/${settings.trials} trials\n`);
  }
  return trials;
}

function revocationSection(trials: Trial[]): string {
  const delays = trials.flatMap((t) => t.delays).sort((x, y) => x - y);
  const p99 = percentile(delays, 99);
  const stale = sum(trials.map((t) => t.stale));
  const staleTrials = trials.filter((t) => t.stale > 0).length;
  const roundTrips = trials.flatMap((t) => t.roundTrips).sort((x, y) => x - y);
  return `## 3. Revocation propagation: revoke on A, first 401 on B and on C

${trials.length} trials, each with a new key cached on all three instances (two calls each), B and C polled in tight loops (one call at a time each) from before the revoke; the delay is from the moment A's DELETE response arrived to the arrival of the first 401 on each of B and C (0 when the 401 arrived first). ${delays.length} delays in all.

${table(['p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'mean ms'], [[fmt(percentile(delays, 50), 2), fmt(percentile(delays, 90), 2), fmt(p99, 2), fmt(delays.at(-1) ?? Number.NaN, 2), fmt(sum(delays) / delays.length, 2)]])}

**p99 ${fmt(p99, 2)} ms**; target < ${REVOCATION_TARGET_P99_MS} ms: **${p99 < REVOCATION_TARGET_P99_MS ? 'met' : 'missed'}**.
Calls to B or C sent after A's response that still answered 200: **${stale}** (in ${staleTrials} of ${trials.length} trials). The delay includes up to two polls' round trips (a poll sent just before the broadcast arrived answers 200 and the next one 401); one poll's round trip over the run: p50 ${fmt(percentile(roundTrips, 50), 2)} ms, p99 ${fmt(percentile(roundTrips, 99), 2)} ms.
`;
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const env = { DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, DEFAULT_CEILING_PER_MINUTE: String(HIGH_LIMIT) };
  const fleet: Latchkey[] = [];
  const sections: string[] = [];
  const startedAt = new Date();
  try {
    fleet.push(await startLatchkey({ env })); // migrations run once, before the others start
    fleet.push(...(await Promise.all([startLatchkey({ env }), startLatchkey({ env })])));
    const session = await setUp(fleet[0]!.url);
    const cpuBefore = fleet.map((s) => cpuSeconds(s.pid));
    if (!skipped.has('throughput')) sections.push(throughputSection(await throughput(fleet, session)));
    if (!skipped.has('limit')) {
      const result = await limitExactness(fleet, session);
      sections.push(limitSection(result));
      process.stderr.write(`rate limit: 2xx per window ${result.windows.map((w) => `${w.passed}${w.partial ? ' (partial)' : ` (${windowVerdict(w, settings.limit)})`}`).join(', ')}\n`);
    }
    if (!skipped.has('revocation')) sections.push(revocationSection(await revocation(fleet, session)));
    const cpuAfter = fleet.map((s) => cpuSeconds(s.pid));
    sections.push(`Server CPU over the whole run: ${fleet.map((_, i) => `${'ABC'[i]} ${fmt((cpuAfter[i] ?? Number.NaN) - (cpuBefore[i] ?? Number.NaN))} s`).join(', ')}.\n`);
  } catch (error) {
    for (const server of fleet) process.stderr.write(`server output:\n${server.output()}\n`);
    throw error;
  } finally {
    await Promise.all(fleet.map((s) => s.stop()));
    await database.drop();
  }
  const m = machine();
  const report = `# Many instances: three servers on PostgreSQL and Redis

- Date: ${startedAt.toISOString()}
- Command: \`${['node --import tsx bench/multi-instance.ts', ...process.argv.slice(2)].join(' ')}\`
- Node ${m.node}; CPU: ${m.cpu} (${m.cores} cores available)
- Core pinning: ${pinningDescription()} — all three servers on the server core
- Servers: three \`node dist/main.js\` on one fresh PostgreSQL database and the Redis at ${TEST_REDIS_URL}, \`LOG_LEVEL=warn\`, audit log on

${sections.join('\n')}`;
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(ROOT, 'bench', 'results', 'multi-instance.md'), report);
  process.stdout.write(`${report}\nwritten to bench/results/multi-instance.md\n`);
}

runBenchmark('multi-instance', main);
