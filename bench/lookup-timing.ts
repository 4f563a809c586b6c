/**
 * Does looking up a wrong key cost the same whether or not its first characters match a real key's?
 * Two kinds of wrong key, both well formed with a right checksum, so both reach the lookup:
 * - "near": the brand, the mode and the first --shared (20) of the 30 random characters of a real key,
 *   then other random characters;
 * - "far": the same brand and mode, all 30 random characters unrelated to any key.
 * Every sample is a fresh key (a repeated one would be answered by the cache of unknown secrets), and the
 * two kinds alternate in random order, so that noise from a shared machine falls on both alike.
 *
 * Measured in process at two depths, on PGlite and on PostgreSQL:
 * - repo: KeysRepo.findBySecretHash(db, sha256(key)), the one query of the hot path (SHA-256 included);
 * - app: GET /api/v1/ping through the whole app (app.inject: bearer parse, checksum, SHA-256, cache miss,
 *   query, 401), the audit log off so that its batches do not add noise; source addresses rotate so that
 *   the made-up-key limit (30 a minute per address) never answers instead of the lookup.
 * Reported per kind: median and p99; between kinds: the difference of medians with a 95% bootstrap
 * interval, and Welch's t-test on the means.
 *
 *   node --import tsx bench/lookup-timing.ts [--samples 20000] [--shared 20] [--keys 1000] [--bootstrap 1000] [--no-postgres]
 *
 * --samples is per kind and per depth; --keys real keys exist in the table. PostgreSQL at
 * postgres://postgres@127.0.0.1:5432 (or TEST_DATABASE_URL) in a fresh database, dropped afterwards.
 * Report: bench/results/lookup-timing.md.
 */
import { randomInt } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Db } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { hashSecret, randomBase62, withChecksum } from '../src/keys/key-format.js';
import { createKeysRepo } from '../src/keys/keys-repo.js';
import { createTestDatabase } from '../test/services.js';
import { machine, markdownTable, ROOT, wholeNumberFlag } from './lib.js';

const { values: flags } = parseArgs({
  options: {
    samples: { type: 'string', default: '20000' },
    shared: { type: 'string', default: '20' },
    keys: { type: 'string', default: '1000' },
    bootstrap: { type: 'string', default: '1000' },
    'no-postgres': { type: 'boolean', default: false },
  },
});
const SAMPLES = wholeNumberFlag('samples', flags.samples, 100);
const SHARED = wholeNumberFlag('shared', flags.shared, 1);
const KEYS = wholeNumberFlag('keys', flags.keys, 1);
const BOOTSTRAP = wholeNumberFlag('bootstrap', flags.bootstrap, 100);
if (SHARED > 29) throw new Error('--shared must leave at least one random character to differ: at most 29');

/** A key of our format with a right checksum: `{brand}_{mode}_{30 random}{6 checksum}`. */
function keyOf(head: string, random: string): string {
  return withChecksum(head + random);
}

/** A wrong key sharing the first `shared` random characters of `real`, and one sharing none. */
function candidates(real: string, brand: string): { near: string; far: string } {
  const head = `${brand}_live_`;
  const realRandom = real.slice(head.length, head.length + 30);
  let near = keyOf(head, realRandom.slice(0, SHARED) + randomBase62(30 - SHARED));
  while (near === real) near = keyOf(head, realRandom.slice(0, SHARED) + randomBase62(30 - SHARED));
  let far = keyOf(head, randomBase62(30));
  // "Far" must not share a first character with the real key by chance either.
  while (far[head.length] === real[head.length]) far = keyOf(head, randomBase62(30));
  return { near, far };
}

interface Series {
  near: Float64Array;
  far: Float64Array;
}

/** Alternates the two kinds in random order, `SAMPLES` of each, timing `probe` in microseconds. */
async function measure(reals: string[], brand: string, probe: (key: string) => Promise<void>): Promise<Series> {
  const warm = Math.min(500, SAMPLES);
  for (let i = 0; i < warm; i++) {
    const { near, far } = candidates(reals[i % reals.length]!, brand);
    await probe(near);
    await probe(far);
  }
  const series: Series = { near: new Float64Array(SAMPLES), far: new Float64Array(SAMPLES) };
  for (let i = 0; i < SAMPLES; i++) {
    const pair = candidates(reals[randomInt(reals.length)]!, brand);
    const order: Array<'near' | 'far'> = randomInt(2) === 0 ? ['near', 'far'] : ['far', 'near'];
    for (const kind of order) {
      const start = process.hrtime.bigint();
      await probe(pair[kind]);
      series[kind][i] = Number(process.hrtime.bigint() - start) / 1000;
    }
  }
  return series;
}

// ---- statistics -------------------------------------------------------------------------------------

function quantile(sorted: Float64Array, q: number): number {
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

function sortedCopy(values: Float64Array): Float64Array {
  return Float64Array.from(values).sort();
}

function meanOf(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

function varianceOf(values: Float64Array, mean: number): number {
  let sum = 0;
  for (const v of values) sum += (v - mean) ** 2;
  return sum / (values.length - 1);
}

/** 95% interval of median(near) - median(far) by resampling each kind with replacement. */
function bootstrapMedianDifference(near: Float64Array, far: Float64Array): [number, number] {
  const differences = new Float64Array(BOOTSTRAP);
  const resample = (values: Float64Array) => {
    const out = new Float64Array(values.length);
    for (let i = 0; i < out.length; i++) out[i] = values[randomInt(values.length)]!;
    return quantile(out.sort(), 0.5);
  };
  for (let b = 0; b < BOOTSTRAP; b++) differences[b] = resample(near) - resample(far);
  differences.sort();
  return [quantile(differences, 0.025), quantile(differences, 0.975)];
}

/** Welch's t and its two-sided p (normal approximation: thousands of degrees of freedom). */
function welch(near: Float64Array, far: Float64Array): { t: number; p: number } {
  const [m1, m2] = [meanOf(near), meanOf(far)];
  const se = Math.sqrt(varianceOf(near, m1) / near.length + varianceOf(far, m2) / far.length);
  const t = (m1 - m2) / se;
  return { t, p: 2 * (1 - normalCdf(Math.abs(t))) };
}

function normalCdf(x: number): number {
  // Abramowitz and Stegun 7.1.26, |error| < 1.5e-7.
  const k = 1 / (1 + 0.3275911 * (x / Math.SQRT2));
  const erf = 1 - k * (0.254829592 + k * (-0.284496736 + k * (1.421413741 + k * (-1.453152027 + k * 1.061405429)))) * Math.exp(-((x / Math.SQRT2) ** 2));
  return 0.5 * (1 + erf);
}

interface Row {
  backend: string;
  depth: string;
  nearMedian: number;
  nearP99: number;
  farMedian: number;
  farP99: number;
  difference: number;
  interval: [number, number];
  t: number;
  p: number;
}

function summarize(backend: string, depth: string, series: Series): Row {
  const near = sortedCopy(series.near);
  const far = sortedCopy(series.far);
  const { t, p } = welch(series.near, series.far);
  return {
    backend,
    depth,
    nearMedian: quantile(near, 0.5),
    nearP99: quantile(near, 0.99),
    farMedian: quantile(far, 0.5),
    farP99: quantile(far, 0.99),
    difference: quantile(near, 0.5) - quantile(far, 0.5),
    interval: bootstrapMedianDifference(series.near, series.far),
    t,
    p,
  };
}

// ---- the two backends -------------------------------------------------------------------------------

interface Backend {
  name: string;
  app: FastifyInstance;
  db: Db;
  reals: string[];
  plan: string;
  close(): Promise<void>;
}

async function start(name: 'PGlite' | 'PostgreSQL'): Promise<Backend> {
  const database = name === 'PostgreSQL' ? await createTestDatabase() : null;
  const config = loadConfig({ DATA_DIR: 'memory://', ...(database ? { DATABASE_URL: database.url } : {}) });
  const { db } = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 4 });
  await migrateToLatest(db);
  const app = await buildApp({ config, db, logger: pino({ level: 'silent' }), audit: false });
  await app.ready();
  const setup = await app.inject({ method: 'POST', url: '/v1/setup', payload: { email: 'timing@example.com', password: 'correct horse battery', workspace_name: 'Timing' } });
  if (setup.statusCode !== 201) throw new Error(`setup failed: ${setup.body}`);
  const { workspace, csrf_token: csrf } = setup.json() as { workspace: { id: string }; csrf_token: string };
  const cookie = `latchkey_session=${setup.cookies.find((c) => c.name === 'latchkey_session')?.value}`;
  const reals: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const created = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspace.id}/api-keys`,
      headers: { cookie, 'x-csrf-token': csrf },
      payload: { name: `real-${i}`, scopes: ['tickets:read'] },
    });
    if (created.statusCode !== 201) throw new Error(`key creation failed: ${created.body}`);
    reals.push((created.json() as { secret: string }).secret);
  }
  // The plan PostgreSQL chooses for the lookup: by the unique index on the whole secret's hash.
  const explained = await sql<{ 'QUERY PLAN': string }>`explain select s.id from api_key_secrets s join api_keys k on k.id = s.key_id where s.secret_hash = ${hashSecret('x')}`.execute(db);
  const plan = explained.rows.map((r) => r['QUERY PLAN']).join('\n');
  return {
    name,
    app,
    db,
    reals,
    plan,
    async close() {
      await app.close();
      await db.destroy();
      await database?.drop();
    },
  };
}

async function run(backend: Backend, brand: string): Promise<Row[]> {
  const repo = createKeysRepo();
  const rows: Row[] = [];
  process.stdout.write(`${backend.name}: repo lookup, ${SAMPLES} samples of each kind…\n`);
  const repoSeries = await measure(backend.reals, brand, async (key) => {
    const row = await repo.findBySecretHash(backend.db, hashSecret(key));
    if (row) throw new Error('a wrong key was found');
  });
  rows.push(summarize(backend.name, 'repo (SHA-256 + query)', repoSeries));

  process.stdout.write(`${backend.name}: whole app (GET /api/v1/ping → 401), ${SAMPLES} samples of each kind…\n`);
  let calls = 0;
  const appSeries = await measure(backend.reals, brand, async (key) => {
    // 20 failures per address, under the 30 a minute allowed, then the next address.
    const n = Math.floor(calls++ / 20);
    const ip = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    const reply = await backend.app.inject({ method: 'GET', url: '/api/v1/ping', headers: { authorization: `Bearer ${key}` }, remoteAddress: ip });
    if (reply.statusCode !== 401) throw new Error(`expected 401 invalid_api_key, got ${reply.statusCode}: ${reply.body}`);
  });
  rows.push(summarize(backend.name, 'app (GET /api/v1/ping, 401)', appSeries));
  return rows;
}

const µs = (v: number) => v.toFixed(1);

async function main(): Promise<void> {
  const brand = loadConfig({ DATA_DIR: 'memory://' }).keyPrefix;
  const rows: Row[] = [];
  const plans: string[] = [];
  const skipped: string[] = [];
  const names: Array<'PGlite' | 'PostgreSQL'> = flags['no-postgres'] ? ['PGlite'] : ['PGlite', 'PostgreSQL'];
  for (const name of names) {
    let backend: Backend | undefined;
    try {
      backend = await start(name);
    } catch (error) {
      if (name !== 'PostgreSQL') throw error;
      skipped.push(`PostgreSQL skipped: ${(error as Error).message}`);
      continue;
    }
    try {
      plans.push(`${name}:\n${backend.plan}`);
      rows.push(...(await run(backend, brand)));
    } finally {
      await backend.close();
    }
  }

  const table = markdownTable(
    ['backend', 'depth', 'near: median µs', 'near: p99 µs', 'far: median µs', 'far: p99 µs', 'median difference µs (95% CI)', 'Welch t', 'p'],
    rows.map((r) => [
      r.backend,
      r.depth,
      µs(r.nearMedian),
      µs(r.nearP99),
      µs(r.farMedian),
      µs(r.farP99),
      `${r.difference >= 0 ? '+' : ''}${µs(r.difference)} (${µs(r.interval[0])} … ${µs(r.interval[1])})`,
      r.t.toFixed(2),
      r.p < 0.001 ? '< 0.001' : r.p.toFixed(3),
    ]),
  );
  /** Whether a row shows a difference: its 95% interval excludes 0 and it is above 2% of the median. */
  const differs = (r: Row) => !(r.interval[0] <= 0 && r.interval[1] >= 0) && Math.abs(r.difference) / r.farMedian >= 0.02;
  const verdicts = rows.map((r) => {
    const contains = r.interval[0] <= 0 && r.interval[1] >= 0;
    const relative = (Math.abs(r.difference) / r.farMedian) * 100;
    return `- ${r.backend}, ${r.depth}: ${contains ? 'no detectable difference (the interval holds 0)' : `difference of ${µs(r.difference)} µs (${relative.toFixed(1)}% of the median), interval excludes 0`}`;
  });
  const { node, cpu, cores } = machine();
  const command = `node --import tsx bench/lookup-timing.ts --samples ${SAMPLES} --shared ${SHARED} --keys ${KEYS} --bootstrap ${BOOTSTRAP}${flags['no-postgres'] ? ' --no-postgres' : ''}`;
  const report = `# Wrong-key lookup timing: a shared prefix does not change the cost

What: the time to look up a wrong key that shares the first ${SHARED} of its 30 random characters with a real key
("near") against one that shares none ("far"). Both are well formed with a right checksum, so both reach the
lookup; each sample is a fresh key (no cache hit); the kinds alternate in random order; ${SAMPLES} samples of each
per row, after ${Math.min(500, SAMPLES)} warm-up pairs; ${KEYS} real keys in the table. In process: the repository's
lookup (SHA-256 and the query) and the whole app through app.inject (audit log off, source addresses rotated so
that the made-up-key limit never answers first).

Command: \`${command}\`

Machine: ${cpu}, ${cores} cores, Node ${node}; not pinned (one process; PostgreSQL is its own server on the same
machine). Load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(', ')} (other work on a shared machine
adds noise to both kinds alike).

${table}

${verdicts.join('\n')}
${skipped.length > 0 ? `\n${skipped.join('\n')}\n` : ''}
Target (issue 6): a wrong key costs the same whether its prefix matches a real key or not —
${rows.some(differs) ? '**missed** on the rows above whose interval excludes 0' : '**met**'}
(a difference counts when its 95% interval excludes 0 and it is above 2% of the median).

## Why they match

- The lookup is by the SHA-256 of the whole secret (\`hashSecret\` in src/keys/key-format.ts), and
  \`KeysRepo.findBySecretHash\` (src/keys/keys-repo.ts) filters on \`secret_hash\` only, through its unique index.
  Two keys that share 20 characters have unrelated hashes, so the index descent of a "near" key is that of any
  random value. The display prefix (\`prefix\`: brand, mode and 4 characters) is stored for lists and never
  used to find or verify a key.
- Before the lookup, the format and checksum check reads every character of any well-formed key, the same
  for both kinds; the cache of known and unknown secrets is keyed by the hash as well.
- The plan of the lookup:

\`\`\`
${plans.join('\n\n')}
\`\`\`
`;
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(ROOT, 'bench', 'results', 'lookup-timing.md'), report);
  process.stdout.write(`\n${table}\n\n${verdicts.join('\n')}\n${skipped.join('\n')}\nReport: bench/results/lookup-timing.md\n`);
}

await main();
