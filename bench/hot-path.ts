/**
 * What does verifying an API key cost? GET /api/v1/ping with a cached key (bearer parse, checksum,
 * SHA-256, cache hit, allowlist, rate limit, scope) against GET /healthz (no auth: what the same server
 * answers at most), on the real server, one core each for server and load.
 *
 * Twice: with the audit log off (verification alone) and on (as every deployment runs: each /api call
 * also queues an audit event). Two servers, one of each, run side by side on the server core and the
 * target is judged on both; after each audit-on run the script waits for the audit writer to drain, so
 * that its backlog is not written during the next run.
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
  DRAIN_TIMEOUT_S,
  drainAudit,
  LOAD_FLAGS,
  loadSettings,
  machine,
  markdownTable,
  mean,
  pinningDescription,
  ROOT,
  runBenchmark,
  runLoad,
  scrapeMetrics,
  serverMicrosPerRequest,
  setUp,
  startLatchkey,
  type AuditDrain,
  type Latchkey,
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
    ...LOAD_FLAGS,
    pipelining: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
    postgres: { type: 'boolean', default: false },
    // Writes a CPU profile of the server to DIR; a profiled server is slower, so no results are saved.
    'cpu-prof': { type: 'string' },
  },
});

const settings = loadSettings(flags);
const profileDir = flags['cpu-prof'];

interface Target {
  name: string;
  server: Latchkey;
  path: string;
  headers?: Record<string, string>;
  runs: LoadResult[];
  /** Audit-on targets: how long the writer took to drain after each run, and what it dropped or left. */
  drains?: AuditDrain[];
}


/** The audit-on server's writer after a run: wait until its queue is empty, so the next run is not charged for it. */
/** A verdict of the target on one hot-path target against the ceiling. */
interface Verdict {
  name: string;
  ratio: number;
  cpuRatio: number;
  met: boolean;
}

function judge(ceiling: Target, hot: Target): Verdict {
  const ratio = (100 * mean(hot.runs.map((r) => r.requestsPerSecond))) / mean(ceiling.runs.map((r) => r.requestsPerSecond));
  // The same comparison in server CPU time per request (NaN without /proc).
  const cpuRatio = (100 * mean(ceiling.runs.map(serverMicrosPerRequest))) / mean(hot.runs.map(serverMicrosPerRequest));
  return { name: hot.name, ratio, cpuRatio, met: ratio >= TARGET_PERCENT };
}

async function main(): Promise<number> {
  const common = {
    postgres: flags.postgres,
    env: { DEFAULT_CEILING_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE) },
    nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  };
  // Both are bench/server.ts (the same code, through tsx), so the only difference is the audit log.
  const quiet = await startLatchkey({ ...common, audit: false });
  let audited: Latchkey;
  try {
    audited = await startLatchkey({ ...common, audit: true });
  } catch (error) {
    await quiet.stop();
    throw error;
  }
  const ceiling: Target = { name: 'GET /healthz (ceiling)', server: quiet, path: '/healthz', runs: [] };
  const hot: Target = { name: 'GET /api/v1/ping (hot path, audit off)', server: quiet, path: '/api/v1/ping', runs: [] };
  const hotAudited: Target = { name: 'GET /api/v1/ping (hot path, audit on)', server: audited, path: '/api/v1/ping', runs: [], drains: [] };
  const targets = [ceiling, hot, hotAudited];
  try {
    const sessions = new Map([[quiet, await setUp(quiet.url)], [audited, await setUp(audited.url)]]);
    // A fresh key per round: at 40k req/s one key would use up its 1M-a-minute limit (the highest the
    // config accepts) within a minute, and the 429s would be measured instead of the hot path.
    const freshKey = async (target: Target) => {
      // An allowlist, as a production key would have, so the CIDR match is part of the measured path.
      const key = await createKey(sessions.get(target.server)!, {
        name: 'bench',
        scopes: ['conversations:read'],
        rate_limit: { per_minute: RATE_LIMIT_PER_MINUTE },
        ip_allowlist: ['127.0.0.0/8'],
      });
      target.headers = { authorization: `Bearer ${key.secret}` };
      const check = await fetch(`${target.server.url}${target.path}`, { headers: target.headers });
      if (check.status !== 200) throw new Error(`ping answered ${check.status}: ${await check.text()}`);
    };

    // Alternating, so that noise from other work on this machine falls on all alike.
    for (let round = 1; round <= settings.rounds; round++) {
      await freshKey(hot);
      await freshKey(hotAudited);
      for (const target of targets) {
        const before = target.drains ? await scrapeMetrics(target.server.url) : null;
        const options: LoadOptions = { ...settings, url: `${target.server.url}${target.path}`, serverPid: target.server.pid, ...(target.headers ? { headers: target.headers } : {}) };
        const result = await runLoad(options);
        target.runs.push(result);
        const drain = before ? await drainAudit(target.server.url, before) : null;
        if (drain) target.drains?.push(drain);
        process.stderr.write(`round ${round}: ${target.name}: ${Math.round(result.requestsPerSecond)} req/s${drain ? `; audit drained in ${drain.seconds?.toFixed(1) ?? `> ${DRAIN_TIMEOUT_S}`} s, ${drain.dropped} dropped` : ''}\n`);
      }
    }
  } catch (error) {
    for (const server of [quiet, audited]) process.stderr.write(`server output:\n${server.output()}\n`);
    throw error;
  } finally {
    await Promise.all([quiet.stop(), audited.stop()]);
  }

  if (profileDir) {
    // Startup (PGlite, migrations) and setup are in the profile too: a window keeps one target's measured runs.
    // Each server writes its own profile: the audit-on target is in the file of the second pid.
    process.stdout.write(`${summaryTable(targets)}\n\nprofiles in ${profileDir} (audit off: pid ${quiet.pid}, audit on: pid ${audited.pid}; a profiled server is slower: nothing saved). Summarize one target with\n`);
    for (const target of targets) process.stdout.write(`${profileHint(profileDir, target.name, target.runs)}\n`);
    return 0;
  }

  const verdicts = [judge(ceiling, hot), judge(ceiling, hotAudited)];
  const failures = targets.flatMap((t) => t.runs.filter((r) => r.errors > 0 || r.non2xx > 0).map((r) => `${t.name}: ${describeNon2xx(r)}`));
  const report = markdown(targets, verdicts, failures, quiet.storage);
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(ROOT, 'bench', 'results', 'hot-path.md'), report);

  process.stdout.write(`\n${summaryTable(targets)}\n\n`);
  for (const v of verdicts) {
    process.stdout.write(`${v.name} / ceiling: ${v.ratio.toFixed(1)}% of the ceiling's req/s (target ≥ ${TARGET_PERCENT}%): ${v.met ? 'MET' : 'MISSED'}; by server CPU time per request: ${v.cpuRatio.toFixed(1)}%\n`);
  }
  process.stdout.write(`target ≥ ${TARGET_PERCENT}% on both: ${verdicts.every((v) => v.met) ? 'MET' : 'MISSED'}\n`);
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

function drainTable(target: Target): string {
  const rows = (target.drains ?? []).map((d, i) => [String(i + 1), String(d.written), String(d.dropped), d.seconds === null ? `**still queued after ${DRAIN_TIMEOUT_S} s**` : fmt(d.seconds, 1)]);
  return markdownTable(['round', 'audit events written (run + drain)', 'dropped', 'seconds to drain after the run'], rows);
}

function markdown(targets: Target[], verdicts: Verdict[], failures: string[], storage: string): string {
  const m = machine();
  return `# Hot path vs ceiling

- Date: ${new Date().toISOString()}
- Command: \`${['node --import tsx bench/hot-path.ts', ...process.argv.slice(2)].join(' ')}\`
- Node ${m.node}; CPU: ${m.cpu} (${m.cores} cores available)
- Core pinning: ${pinningDescription()}
- Servers: two \`bench/server.ts\` (the server of \`npm start\`, through tsx), one with the audit log off (the ceiling and the hot path alone) and one with it on (as a deployment runs), side by side on the server core; ${storage}, \`LOG_LEVEL=warn\` (at info, one log line per request would dominate)
- Load: autocannon, ${settings.connections} connections, pipelining ${settings.pipelining}, ${settings.warmupSeconds} s warm-up then ${settings.durationSeconds} s measured per run; ${settings.rounds} rounds alternating the ceiling, the hot path with the audit log off and with it on; after each audit-on run the next waits until the audit writer has drained
- Key: a fresh one each round, cached after its first request, allowlist 127.0.0.0/8, ${RATE_LIMIT_PER_MINUTE} requests per minute

## Result (mean of ${settings.rounds} rounds)

${summaryTable(targets)}

${verdicts.map((v) => `- ${v.name} / ceiling: **${fmt(v.ratio)}%** of the ceiling's requests per second (by server CPU time per request: ${fmt(v.cpuRatio)}%); target ≥ ${TARGET_PERCENT}%: **${v.met ? 'met' : 'missed'}**`).join('\n')}

**Target ≥ ${TARGET_PERCENT}% with the audit log off and on: ${verdicts.every((v) => v.met) ? 'met' : 'missed'}.** No deployment runs with the audit log off: the audit-off figure isolates verification, the audit-on one is what a deployment gets.

Audit writer of the audit-on server (written and dropped over the run and its drain; a drain that takes longer than the run means the writer did not keep up at this rate, and the events were written after the measurement):

${drainTable(targets.find((t) => t.drains) as Target)}
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

runBenchmark('hot-path', main);
