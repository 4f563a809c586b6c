/**
 * What a revoke costs now that it waits for every live instance to confirm it dropped the key
 * (src/auth/key-change-bus.ts): DELETE /v1/workspaces/:ws/api-keys/:id timed on instance A, the key
 * cached on every instance first, on one fresh PostgreSQL database per configuration:
 *
 * - one instance without Redis (the change is only forgotten locally): the baseline;
 * - one instance with Redis (announce, nobody else to wait for);
 * - three instances with Redis (announce, wait for B's and C's confirmations).
 *
 * The servers run the source through tsx (bench/server.ts, audit log on), so no build is needed.
 *
 *   node --import tsx bench/revoke-latency.ts [--trials 100]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTestDatabase, TEST_REDIS_URL } from '../test/services.js';
import { createKey, machine, markdownTable, pinningDescription, ROOT, setUp, startLatchkey, wholeNumberFlag, type Latchkey, type Session, runBenchmark } from './lib.js';

const { values: flags } = parseArgs({ options: { trials: { type: 'string', default: '100' } } });
const trials = wholeNumberFlag('trials', flags.trials, 1);
const WARMUP = 10;

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function status(url: string, secret: string): Promise<number> {
  const response = await fetch(`${url}/api/v1/ping`, { headers: { authorization: `Bearer ${secret}` } });
  await response.arrayBuffer();
  return response.status;
}

interface Configuration {
  label: string;
  instances: number;
  /** A Redis database of its own (the registry of live instances is per database), or none. */
  redisDb: number | null;
}

const configurations: Configuration[] = [
  { label: 'one instance, no Redis', instances: 1, redisDb: null },
  { label: 'one instance + Redis', instances: 1, redisDb: 1 },
  { label: 'three instances + Redis', instances: 3, redisDb: 2 },
];

interface Fleet {
  servers: Latchkey[];
  session: Session;
  stop(): Promise<void>;
}

async function startFleet(configuration: Configuration): Promise<Fleet> {
  const database = await createTestDatabase();
  const env: Record<string, string> = { DATABASE_URL: database.url, ...(configuration.redisDb === null ? {} : { REDIS_URL: `${TEST_REDIS_URL}/${configuration.redisDb}` }) };
  const servers: Latchkey[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await database.drop();
  };
  try {
    servers.push(await startLatchkey({ env, audit: true })); // migrations run once, before the others start
    servers.push(...(await Promise.all(Array.from({ length: configuration.instances - 1 }, () => startLatchkey({ env, audit: true })))));
    return { servers, session: await setUp(servers[0]!.url), stop };
  } catch (error) {
    for (const server of servers) process.stderr.write(`server output:\n${server.output()}\n`);
    await stop();
    throw error;
  }
}

/** One revoke's latency (ms) on A; every instance must refuse the key right after its answer. */
async function revokeOnce(fleet: Fleet, i: number): Promise<number> {
  const { servers, session } = fleet;
  const key = await createKey(session, { name: `revoke-${i}`, scopes: ['conversations:read'] });
  for (const server of servers) for (let n = 0; n < 2; n++) if ((await status(server.url, key.secret)) !== 200) throw new Error('a new key was refused');
  const started = performance.now();
  const response = await fetch(`${session.url}/v1/workspaces/${session.workspaceId}/api-keys/${key.id}`, { method: 'DELETE', headers: session.headers });
  await response.arrayBuffer();
  const took = performance.now() - started;
  if (response.status !== 200) throw new Error(`revoke answered ${response.status}`);
  const after = await Promise.all(servers.map((server) => status(server.url, key.secret)));
  if (after.some((s) => s !== 401)) throw new Error(`after the revoke's answer: ${after.join(', ')} (every instance must refuse)`);
  return took;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const fleets: Fleet[] = [];
  const latencies: number[][] = configurations.map(() => []);
  try {
    for (const configuration of configurations) fleets.push(await startFleet(configuration));
    // Round-robin, so that the machine's other work weighs on every configuration alike; warm-up first.
    for (let i = 0; i < WARMUP; i++) for (const fleet of fleets) await revokeOnce(fleet, i);
    for (let i = 0; i < trials; i++) for (const [c, fleet] of fleets.entries()) latencies[c]!.push(await revokeOnce(fleet, WARMUP + i));
  } finally {
    await Promise.all(fleets.map((fleet) => fleet.stop()));
  }
  const rows: string[][] = [];
  const medians: number[] = [];
  for (const [c, configuration] of configurations.entries()) {
    const sorted = latencies[c]!.sort((a, b) => a - b);
    medians.push(percentile(sorted, 50));
    rows.push([configuration.label, String(sorted.length), fmt(percentile(sorted, 50)), fmt(percentile(sorted, 90)), fmt(percentile(sorted, 99)), fmt(sorted.at(-1) ?? Number.NaN)]);
    process.stderr.write(`${configuration.label}: p50 ${fmt(percentile(sorted, 50))} ms\n`);
  }
  const m = machine();
  const report = `# Revoke latency: what waiting for every instance's confirmation costs

- Date: ${startedAt.toISOString()}
- Command: \`${['node --import tsx bench/revoke-latency.ts', ...process.argv.slice(2)].join(' ')}\`
- Node ${m.node}; CPU: ${m.cpu} (${m.cores} cores available)
- Core pinning: ${pinningDescription()} — every server on the server core
- Servers: \`bench/server.ts\` (the source through tsx, audit log on), \`LOG_LEVEL=warn\`, one fresh PostgreSQL database per configuration; Redis at ${TEST_REDIS_URL}

Each trial: a new key, called twice on every instance (cached everywhere), then \`DELETE\` on A, timed from
the request to the response; right after the answer every instance must refuse the key (the run fails otherwise).
The three configurations run side by side (each its own database and Redis database), one trial each in
turn, after ${WARMUP} warm-up trials each.

${markdownTable(['configuration', 'trials', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'], rows)}

Added by the confirmation round (p50, against one instance without Redis): **${fmt(medians[1]! - medians[0]!)} ms** with Redis alone,
**${fmt(medians[2]! - medians[0]!)} ms** with three instances.
`;
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(ROOT, 'bench', 'results', 'revoke-latency.md'), report);
  process.stdout.write(`${report}\nwritten to bench/results/revoke-latency.md\n`);
}

runBenchmark('revoke-latency', main);
