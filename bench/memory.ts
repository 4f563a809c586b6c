/**
 * Memory: the real server's resident memory (VmRSS) and V8 heap at idle, under load, with 100k keys in its
 * cache, and over a soak of steady load, with the audit log on.
 *
 *   node --import tsx bench/memory.ts [--keys 100000] [--idle 10] [--load 30] [--soak 600]
 *                                     [--sample-every 10] [--connections 10] [--rate 0] [--postgres]
 *
 * Phases: idle (the keys are stored, none used yet); under load (one cached key, --load seconds, RSS read
 * every second); 100k cached keys (each key sent once; the server's cache holds 100k); soak (the same load
 * as "under load" for --soak seconds, with the cache full, RSS and heap sampled every --sample-every
 * seconds). --rate 0 is as fast as the server answers; a number fixes the rate.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  describeNon2xx,
  machine,
  markdownTable,
  metricSum,
  pinningDescription,
  ROOT,
  rssBytes,
  runBenchmark,
  runLoad,
  scrapeMetrics,
  startLatchkey,
  wholeNumberFlag,
  type LoadOptions,
  type LoadResult,
} from './lib.js';
import { seedKeys, seedWorkspace, writeSecretsFile, type SecretsFile } from './seed-keys.js';

/** A rise of the post-GC floor of RSS above this (MB per minute) counts as growing. */
const GROWTH_MB_PER_MIN = 1;
/** The soak is cut into this many windows; each window's lowest RSS is the floor the garbage collector gets back to. */
const FLOOR_WINDOWS = 5;

const { values: flags } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    idle: { type: 'string', default: '10' },
    load: { type: 'string', default: '30' },
    soak: { type: 'string', default: '600' },
    'sample-every': { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    rate: { type: 'string', default: '0' },
    postgres: { type: 'boolean', default: false },
  },
});
const settings = {
  keys: wholeNumberFlag('keys', flags.keys, 1),
  idleSeconds: wholeNumberFlag('idle', flags.idle, 0),
  loadSeconds: wholeNumberFlag('load', flags.load, 1),
  soakSeconds: wholeNumberFlag('soak', flags.soak, 2),
  sampleSeconds: wholeNumberFlag('sample-every', flags['sample-every'], 1),
  connections: wholeNumberFlag('connections', flags.connections, 1),
  rate: wholeNumberFlag('rate', flags.rate, 0),
};

interface Sample {
  /** Seconds since the phase started. */
  t: number;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  cacheEntries: number;
  auditQueued: number;
}

interface Snapshot {
  name: string;
  sample: Sample;
  /** Highest RSS seen during the phase, where it was sampled more than once. */
  maxRssMb?: number;
  load?: LoadResult;
}

const MB = 2 ** 20;

async function sample(url: string, pid: number, t: number): Promise<Sample> {
  const rss = rssBytes(pid);
  if (rss === null) throw new Error('no /proc/PID/status: RSS cannot be read on this machine');
  const m = await scrapeMetrics(url);
  return {
    t,
    rssMb: rss / MB,
    heapUsedMb: metricSum(m, 'latchkey_nodejs_heap_size_used_bytes') / MB,
    heapTotalMb: metricSum(m, 'latchkey_nodejs_heap_size_total_bytes') / MB,
    externalMb: metricSum(m, 'latchkey_nodejs_external_memory_bytes') / MB,
    cacheEntries: metricSum(m, 'latchkey_key_cache_entries'),
    auditQueued: metricSum(m, 'latchkey_audit_events_queued'),
  };
}

/** Runs a load while sampling every `everySeconds`; returns the load's result and the samples. */
async function sampled(url: string, pid: number, everySeconds: number, options: LoadOptions): Promise<{ load: LoadResult; samples: Sample[] }> {
  const started = performance.now();
  const samples: Sample[] = [await sample(url, pid, 0)];
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(async () => {
      samples.push(await sample(url, pid, (performance.now() - started) / 1000));
    });
  }, everySeconds * 1000);
  try {
    const load = await runLoad(options);
    return { load, samples };
  } finally {
    clearInterval(timer);
    await sampling;
    samples.push(await sample(url, pid, (performance.now() - started) / 1000));
  }
}

async function main(): Promise<number> {
  let secrets: string[] = [];
  const server = await startLatchkey({
    postgres: flags.postgres,
    beforeStart: async (db) => {
      const { workspaceId } = await seedWorkspace(db);
      secrets = await seedKeys(db, { workspaceId, count: settings.keys + 1 });
    },
  });
  let file: SecretsFile | null = null;
  const snapshots: Snapshot[] = [];
  const failures: string[] = [];
  let soak: Sample[] = [];
  let soakLoad: LoadResult | undefined;
  try {
    file = await writeSecretsFile(secrets);
    // The last key is the one the steady load uses; the first --keys fill the cache.
    const steadyKey = { file: file.path, from: settings.keys, to: settings.keys + 1 };
    secrets = [];
    const base = {
      url: `${server.url}/api/v1/ping`,
      serverPid: server.pid,
      connections: settings.connections,
      pipelining: 1,
      ...(settings.rate > 0 ? { rate: settings.rate } : {}),
    };
    const note = (line: string) => process.stderr.write(`${line}\n`);

    await new Promise((resolve) => setTimeout(resolve, settings.idleSeconds * 1000));
    snapshots.push({ name: `idle (${settings.keys} keys stored, none used)`, sample: await sample(server.url, server.pid, 0) });
    note(`idle: ${snapshots[0]?.sample.rssMb.toFixed(0)} MB`);

    const loaded = await sampled(server.url, server.pid, 1, { ...base, keys: steadyKey, warmupSeconds: 0, durationSeconds: settings.loadSeconds });
    snapshots.push({ name: `under load (one cached key, ${settings.loadSeconds} s)`, sample: loaded.samples.at(-1) as Sample, maxRssMb: maxRss(loaded.samples), load: loaded.load });
    note(`under load: max ${maxRss(loaded.samples).toFixed(0)} MB`);

    const warming = await sampled(server.url, server.pid, settings.sampleSeconds, {
      ...base,
      keys: { file: file.path, from: 0, to: settings.keys },
      amount: settings.keys,
      warmupSeconds: 0,
      durationSeconds: 3600, // the amount ends it
    });
    snapshots.push({ name: `${settings.keys} keys cached (each sent once)`, sample: await sample(server.url, server.pid, 0), maxRssMb: maxRss(warming.samples), load: warming.load });
    note(`cached: ${snapshots.at(-1)?.sample.rssMb.toFixed(0)} MB, ${snapshots.at(-1)?.sample.cacheEntries} entries`);

    const soaked = await sampled(server.url, server.pid, settings.sampleSeconds, { ...base, keys: steadyKey, warmupSeconds: 0, durationSeconds: settings.soakSeconds });
    soak = soaked.samples;
    soakLoad = soaked.load;
    snapshots.push({ name: `after the ${settings.soakSeconds} s soak`, sample: soak.at(-1) as Sample, maxRssMb: maxRss(soak), load: soaked.load });
    for (const s of snapshots) if (s.load && (s.load.errors > 0 || s.load.non2xx > 0)) failures.push(`${s.name}: ${describeNon2xx(s.load)}`);
  } catch (error) {
    process.stderr.write(`server output:\n${server.output()}\n`);
    throw error;
  } finally {
    await file?.remove();
    await server.stop();
  }

  const summary = soakSummary(soak);
  const grows = summary.floorRise > GROWTH_MB_PER_MIN;
  const name = flags.postgres ? 'memory-postgres.md' : 'memory.md';
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(ROOT, 'bench', 'results', name), markdown(snapshots, soak, summary, grows, soakLoad, failures, server.storage));
  process.stdout.write(`\n${snapshotTable(snapshots)}\n\n${summaryTable(summary)}\n\n`);
  process.stdout.write(`soak: post-GC RSS floor ${signed(summary.floorRise)} MB/min: ${grows ? 'GROWS' : 'flat'} (threshold ${GROWTH_MB_PER_MIN} MB/min)\n`);
  process.stdout.write(`written to bench/results/${name}\n`);
  if (failures.length > 0) {
    process.stderr.write(`\nINVALID RUN: responses other than 2xx or connection errors:\n  ${failures.join('\n  ')}\n`);
    return 1;
  }
  return 0;
}

const maxRss = (samples: Sample[]) => Math.max(...samples.map((s) => s.rssMb));

interface SoakSummary {
  rss: { start: number; min: number; max: number; end: number };
  heap: { start: number; min: number; max: number; end: number };
  rssSlope: number;
  heapSlope: number;
  /** Lowest RSS and heap used of each window of the soak, in order. */
  rssFloors: number[];
  heapFloors: number[];
  /** From the second window's floor to the last one's, MB per minute: the verdict (see markdown). */
  floorRise: number;
  samples: number;
}

/** Least-squares slope in MB per minute. */
function slope(points: Array<[number, number]>): number {
  if (points.length < 2) return Number.NaN;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return (num / den) * 60;
}

function soakSummary(samples: Sample[]): SoakSummary {
  const series = (pick: (s: Sample) => number) => {
    const values = samples.map(pick);
    return { start: values[0] ?? Number.NaN, min: Math.min(...values), max: Math.max(...values), end: values.at(-1) ?? Number.NaN };
  };
  // The first half holds the settling (JIT, pools, the heap finding its size); growth that is a leak goes on after it.
  const half = (samples.at(-1)?.t ?? 0) / 2;
  const secondHalf = samples.filter((s) => s.t >= half);
  const end = samples.at(-1)?.t ?? 0;
  const windows = Array.from({ length: FLOOR_WINDOWS }, (_, i) =>
    samples.filter((s) => s.t >= (i * end) / FLOOR_WINDOWS && (s.t < ((i + 1) * end) / FLOOR_WINDOWS || i === FLOOR_WINDOWS - 1)),
  ).filter((w) => w.length > 0);
  const rssFloors = windows.map((w) => Math.min(...w.map((s) => s.rssMb)));
  const heapFloors = windows.map((w) => Math.min(...w.map((s) => s.heapUsedMb)));
  // The first window holds the settling; from the second window's middle to the last one's.
  const minutes = ((windows.length - 2) * end) / FLOOR_WINDOWS / 60;
  const floorRise = windows.length >= 3 ? ((rssFloors.at(-1) as number) - (rssFloors[1] as number)) / minutes : Number.NaN;
  return {
    rss: series((s) => s.rssMb),
    heap: series((s) => s.heapUsedMb),
    rssSlope: slope(secondHalf.map((s) => [s.t, s.rssMb])),
    heapSlope: slope(secondHalf.map((s) => [s.t, s.heapUsedMb])),
    rssFloors,
    heapFloors,
    floorRise,
    samples: samples.length,
  };
}

const f0 = (n: number) => n.toFixed(0);
const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(2)}`;
const f1 = (n: number) => n.toFixed(1);

function snapshotTable(snapshots: Snapshot[]): string {
  return markdownTable(
    ['phase', 'RSS MB', 'max RSS MB during', 'heap used MB', 'heap total MB', 'external MB', 'cached keys', 'audit queued', 'load req/s'],
    snapshots.map(({ name, sample: s, maxRssMb, load }) => [
      name,
      f0(s.rssMb),
      maxRssMb === undefined ? '-' : f0(maxRssMb),
      f1(s.heapUsedMb),
      f1(s.heapTotalMb),
      f1(s.externalMb),
      String(s.cacheEntries),
      String(s.auditQueued),
      load ? f0(load.requestsPerSecond) : '-',
    ]),
  );
}

function summaryTable(s: SoakSummary): string {
  const row = (name: string, v: SoakSummary['rss'], perMin: number) => [name, f1(v.start), f1(v.min), f1(v.max), f1(v.end), `${perMin >= 0 ? '+' : ''}${perMin.toFixed(2)}`];
  const table = markdownTable(['soak series (MB)', 'start', 'min', 'max', 'end', 'slope over the second half, MB/min'], [row('RSS', s.rss, s.rssSlope), row('heap used', s.heap, s.heapSlope)]);
  return `${table}\n\nLowest RSS of each fifth of the soak (MB): ${s.rssFloors.map(f1).join(', ')}; lowest heap used: ${s.heapFloors.map(f1).join(', ')}.`;
}

function markdown(snapshots: Snapshot[], soak: Sample[], summary: SoakSummary, grows: boolean, soakLoad: LoadResult | undefined, failures: string[], storage: string): string {
  const m = machine();
  const series = markdownTable(
    ['t s', 'RSS MB', 'heap used MB', 'heap total MB', 'external MB', 'audit queued'],
    soak.map((s) => [f0(s.t), f1(s.rssMb), f1(s.heapUsedMb), f1(s.heapTotalMb), f1(s.externalMb), String(s.auditQueued)]),
  );
  return `# Memory

- Date: ${new Date().toISOString()}
- Command: \`${['node --import tsx bench/memory.ts', ...process.argv.slice(2)].join(' ')}\`
- Node ${m.node}; CPU: ${m.cpu} (${m.cores} cores available)
- Core pinning: ${pinningDescription()}
- Server: \`node dist/main.js\` with the **audit log on**, ${storage}, \`LOG_LEVEL=warn\`; ${settings.keys + 1} valid keys seeded before it started (bench/seed-keys.ts)
- Load: autocannon, \`GET /api/v1/ping\`, ${settings.connections} connections, ${settings.rate > 0 ? `${settings.rate} req/s fixed` : 'as fast as the server answers'}; soak ${settings.soakSeconds} s sampled every ${settings.sampleSeconds} s${soakLoad ? ` (${f0(soakLoad.requestsPerSecond)} req/s, ${soakLoad.requests} requests)` : ''}

## Phases

${snapshotTable(snapshots)}

RSS is VmRSS from /proc (the whole process: V8 heap, Node's buffers${storage === 'PGlite' ? ", and PGlite's WebAssembly memory, which holds the database's own buffers" : ''}); heap used/total and external come from the server's own /metrics (prom-client).

## Soak

${summaryTable(summary)}

**${grows ? 'RSS grows' : 'No growth'}**: the post-GC floor of RSS moved ${signed(summary.floorRise)} MB/min from the second fifth of the soak to the last (growth above ${GROWTH_MB_PER_MIN} MB/min).
Under steady load the heap saws up and down (young objects pile up until a major collection), so a
least-squares slope over a few sawteeth says more about where the last tooth stopped than about a leak;
what a leak moves is the floor each collection gets back to. The first fifth is left out as settling (JIT,
pools, the heap finding its size).
${failures.length > 0 ? `\n**INVALID RUN**: ${failures.join('; ')}.\n` : ''}
<details><summary>Every sample of the soak</summary>

${series}

</details>
`;
}

runBenchmark('memory', main);
