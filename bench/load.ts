/**
 * The load generator, in its own process so that it can be pinned to its own core:
 *   node --import tsx bench/load.ts '<LoadOptions as JSON>'
 * Warms up, then measures; prints one LoadResult as JSON on stdout.
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { generateSecret, randomBase62 } from '../src/keys/key-format.js';
import { cpuSeconds, machineBusySeconds, type AttackOptions, type LoadOptions, type LoadResult } from './lib.js';

const options = JSON.parse(process.argv[2] ?? '') as LoadOptions;
const base = {
  url: options.url,
  headers: options.headers ?? {},
  connections: options.connections,
  pipelining: options.pipelining,
  ...(options.method ? { method: options.method } : {}),
  ...(options.body === undefined ? {} : { body: options.body }),
};

type Request = autocannon.Request;
type Rotation = { requests: Array<{ setupRequest: (request: Request) => Request }>; wrapped: () => boolean };

/** One request description whose Authorization (and X-Forwarded-For) changes on every request. */
function rotating(next: () => Record<string, string>, wrapped: () => boolean = () => false): Rotation {
  const headers = options.headers ?? {};
  return { requests: [{ setupRequest: (request) => ({ ...request, headers: { ...headers, ...next() } }) }], wrapped };
}

function keyRotation(slice: { file: string; from?: number; to?: number }): Rotation & { count: number } {
  const lines = readFileSync(slice.file, 'utf8').split('\n').filter((line) => line.length > 0);
  const keys = lines.slice(slice.from ?? 0, slice.to ?? lines.length);
  if (keys.length === 0) throw new Error(`no keys in lines [${slice.from}, ${slice.to}) of the secrets file`);
  let next = 0;
  let wrapped = false;
  const rotation = rotating(
    () => {
      if (next === keys.length) {
        next = 0;
        wrapped = true;
      }
      return { authorization: `Bearer ${keys[next++]}` };
    },
    () => wrapped,
  );
  return { ...rotation, count: keys.length };
}

/** Made in advance, so that the attacker's own CPU goes into sending, not into CRC32. */
function attackRotation(attack: AttackOptions): Rotation {
  const brand = attack.keyPrefix ?? 'lk';
  // More than the server's 10k cache of unknown secrets: every made-up key is a lookup in storage.
  // As many garbage ones, so that with both kinds each is half of the traffic.
  const madeUp = attack.kinds.includes('made-up') ? Array.from({ length: 50_000 }, () => generateSecret(brand, 'live')) : [];
  const garbage = attack.kinds.includes('garbage')
    ? Array.from({ length: 50_000 }, (_, i) => {
        const real = generateSecret(brand, 'live');
        switch (i % 5) {
          case 0: // right shape, wrong checksum
            return `Bearer ${real.slice(0, -1)}${real.at(-1) === 'A' ? 'B' : 'A'}`;
          case 1: // someone else's brand
            return `Bearer xx${real.slice(brand.length)}`;
          case 2: // random text of random length
            return `Bearer ${randomBase62(randomInt(1, 200))}`;
          case 3: // another scheme
            return `Basic ${Buffer.from(`admin:${randomBase62(12)}`).toString('base64')}`;
          default: // a key with its last character cut off
            return `Bearer ${real.slice(0, -1)}`;
        }
      })
    : [];
  const pool = [...madeUp.map((key) => `Bearer ${key}`), ...garbage];
  // Interleaved rather than one kind after the other.
  for (let i = pool.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [pool[i], pool[j]] = [pool[j] as string, pool[i] as string];
  }
  let next = 0;
  const ips = attack.sourceIps ?? 0;
  let ip = 0;
  return rotating(() => {
    const authorization = pool[next++ % pool.length] as string;
    const headers: Record<string, string> = { authorization };
    if (ips === 0) return headers;
    const n = ip++ % ips;
    headers['x-forwarded-for'] = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    return headers;
  });
}

function requestsFor(which: 'warmup' | 'measured'): Rotation | undefined {
  if (options.attack) return attackRotation(options.attack);
  const slice = which === 'warmup' ? (options.warmupKeys ?? options.keys) : options.keys;
  return slice ? keyRotation(slice) : undefined;
}

const rate = options.rate === undefined ? {} : { overallRate: options.rate };

// JIT, key cache and connection setup happen here, not in the figures. A warm-up key slice is sent once.
if (options.warmupKeys) {
  const warmup = keyRotation(options.warmupKeys);
  await autocannon({ ...base, ...rate, requests: warmup.requests, amount: warmup.count });
} else if (options.warmupSeconds > 0) {
  await autocannon({ ...base, ...rate, duration: options.warmupSeconds, requests: requestsFor('warmup')?.requests });
}

const measured = requestsFor('measured');
const latencies: number[] = [];
const serverBefore = options.serverPid === undefined ? null : cpuSeconds(options.serverPid);
const machineBefore = machineBusySeconds();
const clientBefore = process.cpuUsage();
const startedAt = process.hrtime.bigint();
const result = await new Promise<autocannon.Result>((resolve, reject) => {
  const instance = autocannon(
    {
      ...base,
      ...rate,
      duration: options.durationSeconds,
      ...(options.amount === undefined ? {} : { amount: options.amount }),
      ...(measured ? { requests: measured.requests } : {}),
    },
    (error, done) => (error ? reject(error) : resolve(done)),
  );
  if (options.exactLatency) {
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  }
});
const endedAt = process.hrtime.bigint();
const wallSeconds = Number(endedAt - startedAt) / 1e9;
const serverAfter = options.serverPid === undefined ? null : cpuSeconds(options.serverPid);
const client = process.cpuUsage(clientBefore);
const machineAfter = machineBusySeconds();

const statusCodes: Record<string, number> = {};
for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0;

const percentOfCore = (seconds: number) => (100 * seconds) / wallSeconds;
const serverSeconds = serverBefore === null || serverAfter === null ? null : serverAfter - serverBefore;
const clientSeconds = (client.user + client.system) / 1e6;
const machineSeconds = machineBefore === null || machineAfter === null ? null : machineAfter - machineBefore;

function exactPercentiles(values: number[]): LoadResult['exact'] {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
  return { p50Ms: at(50), p99Ms: at(99), p999Ms: at(99.9), maxMs: sorted[sorted.length - 1] as number, samples: sorted.length };
}

const exact = options.exactLatency ? exactPercentiles(latencies) : undefined;
const summary: LoadResult = {
  // With a fixed amount the run ends inside a second, which autocannon's per-second average would count whole.
  requestsPerSecond: options.amount === undefined ? result.requests.average : result.requests.total / wallSeconds,
  meanMs: result.latency.average,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  p999Ms: result.latency.p99_9,
  ...(exact ? { exact } : {}),
  requests: result.requests.total,
  seconds: wallSeconds,
  ...(measured && options.keys ? { keysWrapped: measured.wrapped() } : {}),
  errors: result.errors,
  timeouts: result.timeouts,
  non2xx: result.non2xx,
  statusCodes,
  serverCpuPercent: serverSeconds === null ? null : percentOfCore(serverSeconds),
  clientCpuPercent: percentOfCore(clientSeconds),
  otherCpuPercent: serverSeconds === null || machineSeconds === null ? null : Math.max(0, percentOfCore(machineSeconds - serverSeconds - clientSeconds)),
  measuredFromUs: Number(startedAt / 1000n),
  measuredToUs: Number(endedAt / 1000n),
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
