/**
 * What does verifying an API key cost? GET /api/v1/ping with a cached key (bearer parse, checksum,
 * SHA-256, cache hit, allowlist, rate limit, scope) against GET /healthz (no auth: what the same server
 * answers at most), on the real server, one core each for server and load.
 *
 *   node --import tsx bench/hot-path.ts [--duration 10] [--warmup 3] [--connections 10] [--pipelining 1]
 *                                       [--rounds 2] [--postgres] [--cpu-prof DIR]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createKey,
  describeNon2xx,
  machine,
  markdownTable,
  mean,
  pinningDescription,
  ROOT,
  runLoad,
  serverMicrosPerRequest,
  setUp,
  startLatchkey,
  wholeNumberFlag,
  type LoadOptions,
  type LoadResult,
} from './lib.js';
import { profileHint } from './profile-hint.js';

const TARGET_PERCENT = 85;
// The highest workspace ceiling the server's config accepts (DEFAULT_CEILING_PER_MINUTE ≤ 1,000,000).
// One core serves ~40k/s, which passes 1M within a minute: each round takes a fresh key (below); a 429 fails the run.
const RATE_LIMIT_PER_MINUTE = 1_000_000;

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    pipelining: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
    postgres: { type: 'boolean', default: false },
    // The hot path is verification; what the audit event of every /api call costs is bench/audit-cost.ts.
    // --audit measures both together.
    audit: { type: 'boolean', default: false },
    // Writes a CPU profile of the server to DIR; a profiled server is slower, so no results are saved.
    'cpu-prof': { type: 'string' },
  },
});

const settings = {
  durationSeconds: wholeNumberFlag('duration', flags.duration, 1),
  warmupSeconds: wholeNumberFlag('warmup', flags.warmup, 0),
  connections: wholeNumberFlag('connections', flags.connections, 1),
  pipelining: wholeNumberFlag('pipelining', flags.pipelining, 1),
  rounds: wholeNumberFlag('rounds', flags.rounds, 1),
};
const profileDir = flags['cpu-prof'];

interface Target {
  name: string;
  path: string;
  headers?: Record<string, string>;
  runs: LoadResult[];
}

async function main(): Promise<number> {
  const server = await startLatchkey({
    postgres: flags.postgres,
    ...(flags.audit ? {} : { audit: false }),
    env: { DEFAULT_CEILING_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE) },
    nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  });
  const ceiling: Target = { name: 'GET /healthz (ceiling)', path: '/healthz', runs: [] };
  const hot: Target = { name: 'GET /api/v1/ping (hot path)', path: '/api/v1/ping', runs: [] };
  try {
    const session = await setUp(server.url);
    // A fresh key per round: at 40k req/s one key would use up its 1M-a-minute limit (the highest the
    // config accepts) within a minute, and the 429s would be measured instead of the hot path.
    const freshKey = async () => {
      // An allowlist, as a production key would have, so the CIDR match is part of the measured path.
      const key = await createKey(session, {
        name: 'bench',
        scopes: ['conversations:read'],
        rate_limit: { per_minute: RATE_LIMIT_PER_MINUTE },
        ip_allowlist: ['127.0.0.0/8'],
      });
      hot.headers = { authorization: `Bearer ${key.secret}` };
      const check = await fetch(`${server.url}${hot.path}`, { headers: hot.headers });
      if (check.status !== 200) throw new Error(`ping answered ${check.status} (is dist/ stale? npm run build): ${await check.text()}`);
    };

    // Alternating, so that noise from other work on this machine falls on both alike.
    const targets = [ceiling, hot];
    for (let round = 1; round <= settings.rounds; round++) {
      await freshKey();
      for (const target of targets) {
        const options: LoadOptions = { ...settings, url: `${server.url}${target.path}`, serverPid: server.pid, ...(target.headers ? { headers: target.headers } : {}) };
        const result = await runLoad(options);
        target.runs.push(result);
        process.stderr.write(`round ${round}: ${target.name}: ${Math.round(result.requestsPerSecond)} req/s\n`);
      }
    }
  } catch (error) {
    process.stderr.write(`server output:\n${server.output()}\n`);
    throw error;
  } finally {
    await server.stop();
  }

  if (profileDir) {
    // Startup (PGlite, migrations) and setup are in the profile too: a window keeps one target's measured runs.
    process.stdout.write(`${summaryTable([ceiling, hot])}\n\nprofile in ${profileDir} (a profiled server is slower: nothing saved). Summarize one target with\n`);
    for (const target of [ceiling, hot]) process.stdout.write(`${profileHint(profileDir, target.name, target.runs)}\n`);
    return 0;
  }

  const ratio = (100 * mean(hot.runs.map((r) => r.requestsPerSecond))) / mean(ceiling.runs.map((r) => r.requestsPerSecond));
  const failures = [ceiling, hot].flatMap((t) => t.runs.filter((r) => r.errors > 0 || r.non2xx > 0).map((r) => `${t.name}: ${describeNon2xx(r)}`));
  // The same comparison in server CPU time per request (NaN without /proc).
  const cpuRatio = (100 * mean(ceiling.runs.map(serverMicrosPerRequest))) / mean(hot.runs.map(serverMicrosPerRequest));
  const report = markdown([ceiling, hot], ratio, cpuRatio, failures, server.storage);
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(ROOT, 'bench', 'results', 'hot-path.md'), report);

  process.stdout.write(`\n${summaryTable([ceiling, hot])}\n\n`);
  process.stdout.write(`hot path / ceiling: ${ratio.toFixed(1)}% of the ceiling's req/s (target ≥ ${TARGET_PERCENT}%): ${ratio >= TARGET_PERCENT ? 'MET' : 'MISSED'}\n`);
  process.stdout.write(`by server CPU time per request: ${cpuRatio.toFixed(1)}% (ceiling µs/req ÷ hot-path µs/req)\n`);
  process.stdout.write('written to bench/results/hot-path.md\n');
  if (failures.length > 0) {
    // A 429 means the rate limit tripped, anything else a broken server: the figures measure the wrong thing.
    process.stderr.write(`\nINVALID RUN: responses other than 2xx or connection errors:\n  ${failures.join('\n  ')}\n`);
    return 1;
  }
  return 0; // a missed target is a finding, not a failure
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

/** Means over the rounds; the raw rounds are in the Markdown report. */
function summaryTable(targets: Target[]): string {
  const rows = targets.map((t) => [
    t.name,
    fmt(mean(t.runs.map((r) => r.requestsPerSecond)), 0),
    fmt(mean(t.runs.map((r) => r.meanMs)), 2),
    fmt(mean(t.runs.map((r) => r.p50Ms))),
    fmt(mean(t.runs.map((r) => r.p99Ms))),
    String(t.runs.reduce((sum, r) => sum + r.errors, 0)),
    String(t.runs.reduce((sum, r) => sum + r.non2xx, 0)),
    cpu(mean(t.runs.map((r) => r.serverCpuPercent ?? Number.NaN))),
    fmt(mean(t.runs.map(serverMicrosPerRequest)), 0),
    cpu(mean(t.runs.map((r) => r.clientCpuPercent))),
    cpu(mean(t.runs.map((r) => r.otherCpuPercent ?? Number.NaN))),
  ]);
  return markdownTable(['target (mean of rounds)', 'req/s', 'mean ms', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'server CPU', 'server µs/req', 'client CPU', 'other CPU'], rows);
}

function rawTable(targets: Target[]): string {
  const rows = targets.flatMap((t) =>
    t.runs.map((r, i) => [
      t.name,
      String(i + 1),
      fmt(r.requestsPerSecond, 0),
      fmt(r.meanMs, 2),
      String(r.p50Ms),
      String(r.p99Ms),
      String(r.errors),
      JSON.stringify(r.statusCodes),
      cpu(r.serverCpuPercent ?? Number.NaN),
      fmt(serverMicrosPerRequest(r), 0),
      cpu(r.clientCpuPercent),
      cpu(r.otherCpuPercent ?? Number.NaN),
    ]),
  );
  return markdownTable(['target', 'round', 'req/s', 'mean ms', 'p50 ms', 'p99 ms', 'errors', 'status codes', 'server CPU', 'server µs/req', 'client CPU', 'other CPU'], rows);
}

const cpu = (percent: number) => (Number.isNaN(percent) ? 'n/a' : `${fmt(percent, 0)}%`);

function markdown(targets: Target[], ratio: number, cpuRatio: number, failures: string[], storage: string): string {
  const m = machine();
  return `# Hot path vs ceiling

- Date: ${new Date().toISOString()}
- Command: \`${['node --import tsx bench/hot-path.ts', ...process.argv.slice(2)].join(' ')}\`
- Node ${m.node}; CPU: ${m.cpu} (${m.cores} cores available)
- Core pinning: ${pinningDescription()}
- Server: ${flags.audit ? '\`node dist/main.js\`, audit log on' : '\`bench/server.ts\` (the same server with the audit log off: its cost is measured by bench/audit-cost.ts)'}, ${storage}, \`LOG_LEVEL=warn\` (at info, one log line per request would dominate)
- Load: autocannon, ${settings.connections} connections, pipelining ${settings.pipelining}, ${settings.warmupSeconds} s warm-up then ${settings.durationSeconds} s measured per run; ${settings.rounds} rounds alternating ceiling and hot path
- Key: a fresh one each round, cached after its first request, allowlist 127.0.0.0/8, ${RATE_LIMIT_PER_MINUTE} requests per minute

## Result (mean of ${settings.rounds} rounds)

${summaryTable(targets)}

**Hot path / ceiling: ${fmt(ratio)}%** of the ceiling's requests per second; target ≥ ${TARGET_PERCENT}%: **${ratio >= TARGET_PERCENT ? 'met' : 'missed'}**.
Judged by server CPU time per request instead, the hot path reaches ${fmt(cpuRatio)}% of the ceiling (ceiling µs/req ÷ hot-path µs/req).
${failures.length > 0 ? `\n**INVALID RUN**: responses other than 2xx or connection errors: ${failures.join('; ')}.\n` : ''}
Latency percentiles come from autocannon's histogram in whole milliseconds (0 means under 1 ms); the mean
keeps the fraction. Server CPU near 100% means the server's core was the limit; client CPU near 100% means autocannon was,
and the ceiling is then understated (the ratio overstated). Below 100% on both, round trips or other
work on the machine (other CPU: everything but server and client, in % of one core, out of
${machine().cores * 100}%) set the pace, and server µs/req is the steadier comparison.

## Raw runs

${rawTable(targets)}
`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`hot-path benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
