/**
 * Where a profiled server spent its CPU: self time per function and per package, from a .cpuprofile
 * written by `node --cpu-prof` (e.g. bench/hot-path.ts --cpu-prof DIR, which prints the windows).
 *   node --import tsx bench/cpu-profile-top.ts [--from µs] [--to µs] [--rows 25] FILE.cpuprofile
 * --from/--to keep the samples in a window of the monotonic clock (process.hrtime) that profiles use.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: { from: { type: 'string', default: '0' }, to: { type: 'string', default: 'Infinity' }, rows: { type: 'string', default: '25' } },
});
const file = positionals[0];
if (!file) throw new Error('usage: cpu-profile-top.ts [--from µs] [--to µs] [--rows n] FILE.cpuprofile');
const [from, to, rows] = [Number(flags.from), Number(flags.to), Number(flags.rows)];
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

// Self time: each sample is charged, with the time to the next one, to the function on top of the stack.
const nodeById = new Map(profile.nodes.map((n) => [n.id, n]));
const byFunction = new Map<string, number>();
const byArea = new Map<string, number>();
// Shares are of busy time: (idle) is the event loop waiting, reported once in the header.
let total = 0;
let idle = 0;
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  const frame = nodeById.get(id)?.callFrame;
  const micros = profile.timeDeltas[i] ?? 0;
  at += micros;
  if (!frame || at < from || at > to) return;
  if (frame.functionName === '(idle)') {
    idle += micros;
    return;
  }
  total += micros;
  const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
  add(byFunction, `${frame.functionName || '(anonymous)'} ${where}`.trim(), micros);
  add(byArea, area(frame.url, frame.functionName), micros);
});

function add(map: Map<string, number>, key: string, micros: number): void {
  map.set(key, (map.get(key) ?? 0) + micros);
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  return dist >= 0 ? url.slice(dist + 1) : url.replace(/^file:\/\//, '');
}

/** A package, node's own JS (node:*), Latchkey's dist/ folder, or V8's own buckets ((garbage collector), (idle), (program)). */
function area(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  if (url.startsWith('node:')) return 'node internals';
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `latchkey ${url.slice(dist + 1).split('/').slice(0, -1).join('/') || 'dist'}`;
  return url;
}

function print(title: string, map: Map<string, number>, limit: number): void {
  process.stdout.write(`\n${title}\n`);
  for (const [name, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    process.stdout.write(`${((100 * micros) / total).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}\n`);
  }
}

const sampled = total + idle;
process.stdout.write(`${file}: ${(sampled / 1e6).toFixed(1)} s sampled, ${((100 * idle) / sampled).toFixed(0)}% idle; shares below are of the busy ${(total / 1e6).toFixed(1)} s\n`);
print('Self time by area', byArea, 20);
print('Self time by function', byFunction, rows);
