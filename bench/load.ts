/**
 * The load generator, in its own process so that it can be pinned to its own core:
 *   node --import tsx bench/load.ts '<LoadOptions as JSON>'
 * Warms up, then measures; prints one LoadResult as JSON on stdout.
 */
import autocannon from 'autocannon';
import { cpuSeconds, machineBusySeconds, type LoadOptions, type LoadResult } from './lib.js';

const options = JSON.parse(process.argv[2] ?? '') as LoadOptions;
const base = { url: options.url, headers: options.headers ?? {}, connections: options.connections, pipelining: options.pipelining };

// JIT, key cache and connection setup happen here, not in the figures.
if (options.warmupSeconds > 0) await autocannon({ ...base, duration: options.warmupSeconds });

const serverBefore = options.serverPid === undefined ? null : cpuSeconds(options.serverPid);
const machineBefore = machineBusySeconds();
const clientBefore = process.cpuUsage();
const startedAt = process.hrtime.bigint();
const result = await autocannon({ ...base, duration: options.durationSeconds });
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

const summary: LoadResult = {
  requestsPerSecond: result.requests.average,
  meanMs: result.latency.average,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  errors: result.errors,
  non2xx: result.non2xx,
  statusCodes,
  serverCpuPercent: serverSeconds === null ? null : percentOfCore(serverSeconds),
  clientCpuPercent: percentOfCore(clientSeconds),
  otherCpuPercent: serverSeconds === null || machineSeconds === null ? null : Math.max(0, percentOfCore(machineSeconds - serverSeconds - clientSeconds)),
  measuredFromUs: Number(startedAt / 1000n),
  measuredToUs: Number(endedAt / 1000n),
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
