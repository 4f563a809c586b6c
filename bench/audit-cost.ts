/**
 * What does the audit log cost? The same server twice — audit log on and off — on the same routes,
 * loaded in alternation so that noise on a shared machine falls on both: GET /api/v1/ping (no query, no
 * body: the smallest event) and GET /api/v1/conversations?limit=1 (a real route: a query, a payload, a
 * database read). Target: auditing costs at most 10% of the requests per second.
 *
 *   node --import tsx bench/audit-cost.ts [--duration 10] [--warmup 3] [--connections 10] [--rounds 2] [--postgres]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createKey, machine, mean, pinningDescription, ROOT, runLoad, setUp, startLatchkey, type Latchkey, type LoadResult, runBenchmark } from './lib.js';

const TARGET_COST_PERCENT = 10;
const RATE_LIMIT_PER_MINUTE = 1_000_000;

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    postgres: { type: 'boolean', default: false },
  },
});
const settings = {
  durationSeconds: Number(flags.duration),
  warmupSeconds: Number(flags.warmup),
  connections: Number(flags.connections),
  pipelining: 1,
  rounds: Number(flags.rounds),
};
const ROUTES = ['/api/v1/ping', '/api/v1/conversations?limit=1'];

interface Side {
  audit: boolean;
  server: Latchkey;
  secret: string;
  runs: Map<string, LoadResult[]>;
}

async function prepare(audit: boolean): Promise<Side> {
  const server = await startLatchkey({ audit, postgres: flags.postgres, env: { DEFAULT_CEILING_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE) } });
  const session = await setUp(server.url);
  const demo = await fetch(`${server.url}/v1/workspaces/${session.workspaceId}/demo-data`, { method: 'POST', headers: session.headers });
  if (!demo.ok) throw new Error(`demo data: ${demo.status}`);
  const key = await createKey(session, { name: 'bench', scopes: ['conversations:read'], rate_limit: { per_minute: RATE_LIMIT_PER_MINUTE } });
  return { audit, server, secret: key.secret, runs: new Map(ROUTES.map((route) => [route, []])) };
}

async function main(): Promise<number> {
  const sides: Side[] = [];
  try {
    sides.push(await prepare(true), await prepare(false));
    for (let round = 1; round <= settings.rounds; round++) {
      for (const route of ROUTES) {
        for (const side of sides) {
          const result = await runLoad({
            ...settings,
            url: `${side.server.url}${route}`,
            headers: { authorization: `Bearer ${side.secret}` },
            serverPid: side.server.pid,
          });
          if (result.errors > 0 || result.non2xx > 0) throw new Error(`INVALID RUN: ${route} audit ${side.audit ? 'on' : 'off'}: ${JSON.stringify(result.statusCodes)}, ${result.errors} errors`);
          side.runs.get(route)!.push(result);
          process.stderr.write(`round ${round}: ${route} audit ${side.audit ? 'on' : 'off'}: ${Math.round(result.requestsPerSecond)} req/s\n`);
        }
      }
    }
  } finally {
    await Promise.all(sides.map((side) => side.server.stop()));
  }

  const [on, off] = sides as [Side, Side];
  const rows = ROUTES.map((route) => {
    const rps = (side: Side) => mean(side.runs.get(route)!.map((r) => r.requestsPerSecond));
    const p99 = (side: Side) => mean(side.runs.get(route)!.map((r) => r.p99Ms));
    const cost = 100 * (1 - rps(on) / rps(off));
    return { route, on: rps(on), off: rps(off), p99On: p99(on), p99Off: p99(off), cost };
  });
  const lines = rows.map(
    (r) =>
      `| \`GET ${r.route}\` | ${r.off.toFixed(0)} | ${r.on.toFixed(0)} | ${r.p99Off.toFixed(1)} | ${r.p99On.toFixed(1)} | **${r.cost.toFixed(1)}%** | ${r.cost <= TARGET_COST_PERCENT ? 'met' : 'missed'} |`,
  );
  const m = machine();
  const report = `# What the audit log costs

- Date: ${new Date().toISOString()}
- Command: \`${['node --import tsx bench/audit-cost.ts', ...process.argv.slice(2)].join(' ')}\`
- Node ${m.node}; CPU: ${m.cpu} (${m.cores} cores available); core pinning: ${pinningDescription()}
- Servers: \`bench/server.ts\` twice (audit log on / off), ${on.server.storage}, \`LOG_LEVEL=warn\`, demo data, one key
- Load: autocannon, ${settings.connections} connections, ${settings.warmupSeconds} s warm-up then ${settings.durationSeconds} s measured; ${settings.rounds} rounds, on and off alternating; means of the rounds

| route | req/s audit off | req/s audit on | p99 ms off | p99 ms on | cost | target ≤ ${TARGET_COST_PERCENT}% |
| --- | --- | --- | --- | --- | --- | --- |
${lines.join('\n')}

With PGlite the database runs inside the server's process, on its core: writing the events is charged
to the server, where with PostgreSQL it runs in another process (on this 2-core machine, on the load
generator's core).
`;
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  const file = join(ROOT, 'bench', 'results', `audit-cost${flags.postgres ? '-postgres' : ''}.md`);
  await writeFile(file, report);
  process.stdout.write(`${report}\nwritten to ${file}\n`);
  return 0;
}

runBenchmark('audit-cost', main);
