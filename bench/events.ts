/**
 * Events out (issue 14): how fast webhook deliveries leave, and what an endpoint adds to key management.
 *
 * 1. Delivery throughput on PostgreSQL: `--events` events written to the outbox in one transaction (as
 *    emitEvent writes them), one endpoint subscribed, a receiver on loopback answering 200 at once; the
 *    time from the commit until the receiver has every event, with one instance and with two on the same
 *    database. Duplicates are counted (there must be none in a run without crashes).
 * 2. The added cost on key management: p50 (and p90) of POST …/api-keys and DELETE …/api-keys/{id},
 *    `--ops` of each in turn, with no endpoint and then with one endpoint subscribed to every event (each
 *    change then writes an event and a delivery in its transaction, and wakes the worker).
 *
 * The server is bench/server.ts (src through tsx, audit on) so that no build is needed.
 *
 *   node --import tsx bench/events.ts [--events 2000] [--ops 200] [--concurrency 8]
 */
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase, type Db } from '../src/db/client.js';
import { emitEvent } from '../src/events/outbox.js';
import { newEndpointSecret } from '../src/events/signing.js';
import { newId } from '../src/ids.js';
import { createTestDatabase } from '../test/services.js';
import { createKey, machine, markdownTable, pinningDescription, ROOT, runBenchmark, setUp, startLatchkey, wholeNumberFlag, type Latchkey, type Session } from './lib.js';

const { values: flags } = parseArgs({
  options: {
    events: { type: 'string', default: '2000' },
    ops: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
  },
});
const EVENTS = wholeNumberFlag('events', flags.events, 10);
const OPS = wholeNumberFlag('ops', flags.ops, 5);
const CONCURRENCY = wholeNumberFlag('concurrency', flags.concurrency, 1);

interface Receiver {
  url: string;
  ids: string[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const ids: string[] = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      ids.push(String(request.headers['latchkey-event-id']));
      response.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    ids,
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function addEndpoint(db: Db, workspaceId: string, url: string): Promise<void> {
  const id = newId('whe');
  await db
    .insertInto('event_endpoints')
    .values({ id, audience: 'workspace', workspace_id: workspaceId, mode: null, url, events: ['*'], service_key_id: null, description: 'bench', disabled_at: null, disabled_reason: null, created_by: null })
    .execute();
  await db.insertInto('event_endpoint_secrets').values({ id: newId('whs'), endpoint_id: id, secret: newEndpointSecret(), expires_at: null }).execute();
}

const serverEnv = (databaseUrl: string) => ({
  DATABASE_URL: databaseUrl,
  EVENTS_ALLOW_PRIVATE_NETWORKS: 'true',
  EVENTS_POLL_MS: '100',
  EVENTS_CONCURRENCY: String(CONCURRENCY),
  DEFAULT_CEILING_PER_MINUTE: '1000000',
});

interface Throughput {
  instances: number;
  seconds: number;
  perSecond: number;
  received: number;
  duplicates: number;
}

async function deliveryThroughput(instances: number): Promise<Throughput> {
  const database = await createTestDatabase();
  const { db } = openDatabase({ databaseUrl: database.url, dataDir: 'memory://', poolSize: 4 });
  const receiver = await startReceiver();
  const servers: Latchkey[] = [];
  try {
    // The first migrates; the others start on the migrated database.
    servers.push(await startLatchkey({ audit: true, env: serverEnv(database.url) }));
    for (let i = 1; i < instances; i++) servers.push(await startLatchkey({ audit: true, env: serverEnv(database.url) }));
    const session = await setUp(servers[0]!.url);
    await addEndpoint(db, session.workspaceId, receiver.url);
    await db.transaction().execute(async (tx) => {
      for (let i = 0; i < EVENTS; i++) await emitEvent(tx, { type: 'member.added', workspaceId: session.workspaceId, data: { n: i } });
    });
    const started = performance.now();
    const deadline = Date.now() + 600_000;
    while (new Set(receiver.ids).size < EVENTS) {
      if (Date.now() > deadline) throw new Error(`only ${new Set(receiver.ids).size} of ${EVENTS} delivered in 10 min`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const seconds = (performance.now() - started) / 1000;
    // Late duplicates would arrive within a moment (nothing should).
    await new Promise((resolve) => setTimeout(resolve, 500));
    const received = receiver.ids.length;
    const result = { instances, seconds, perSecond: EVENTS / seconds, received, duplicates: received - new Set(receiver.ids).size };
    process.stderr.write(`${instances} instance(s): ${EVENTS} events in ${seconds.toFixed(2)} s = ${result.perSecond.toFixed(0)}/s, ${result.duplicates} duplicates\n`);
    return result;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await receiver.close();
    await db.destroy();
    await database.drop();
  }
}

interface Latencies {
  label: string;
  create: number[];
  revoke: number[];
}

async function timed(call: () => Promise<Response>, expected: number, what: string): Promise<number> {
  const started = performance.now();
  const response = await call();
  const text = await response.text();
  const ms = performance.now() - started;
  if (response.status !== expected) throw new Error(`${what}: ${response.status} ${text}`);
  return ms;
}

async function managementRound(session: Session, label: string): Promise<Latencies> {
  const result: Latencies = { label, create: [], revoke: [] };
  for (let i = 0; i < OPS; i++) {
    let id = '';
    result.create.push(
      await timed(
        async () => {
          const response = await fetch(`${session.url}/v1/workspaces/${session.workspaceId}/api-keys`, {
            method: 'POST',
            headers: { ...session.headers, 'content-type': 'application/json' },
            body: JSON.stringify({ name: `bench-${i}`, scopes: ['conversations:read'] }),
          });
          id = ((await response.clone().json()) as { id: string }).id;
          return response;
        },
        201,
        'create',
      ),
    );
    result.revoke.push(
      await timed(() => fetch(`${session.url}/v1/workspaces/${session.workspaceId}/api-keys/${id}`, { method: 'DELETE', headers: session.headers }), 200, 'revoke'),
    );
  }
  return result;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

async function managementCost(): Promise<{ rounds: Latencies[]; delivered: number }> {
  const database = await createTestDatabase();
  const { db } = openDatabase({ databaseUrl: database.url, dataDir: 'memory://', poolSize: 2 });
  const receiver = await startReceiver();
  const server = await startLatchkey({ audit: true, env: serverEnv(database.url) });
  try {
    const session = await setUp(server.url);
    await createKey(session, { name: 'warm-up', scopes: ['conversations:read'] });
    const rounds = [await managementRound(session, 'no endpoint')];
    await addEndpoint(db, session.workspaceId, receiver.url);
    rounds.push(await managementRound(session, 'one endpoint (every event)'));
    const deadline = Date.now() + 30_000;
    while (receiver.ids.length < 2 * OPS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    return { rounds, delivered: receiver.ids.length };
  } finally {
    await server.stop();
    await receiver.close();
    await db.destroy();
    await database.drop();
  }
}

async function main(): Promise<number> {
  const throughput = [await deliveryThroughput(1), await deliveryThroughput(2)];
  const { rounds, delivered } = await managementCost();
  const fmt = (n: number, digits = 1) => n.toFixed(digits);
  const throughputTable = markdownTable(
    ['instances', 'events', 'seconds', 'events/s', 'received', 'duplicates'],
    throughput.map((t) => [String(t.instances), String(EVENTS), fmt(t.seconds, 2), fmt(t.perSecond, 0), String(t.received), String(t.duplicates)]),
  );
  const costTable = markdownTable(
    ['workspace', 'create p50 ms', 'create p90 ms', 'revoke p50 ms', 'revoke p90 ms'],
    rounds.map((r) => [r.label, fmt(percentile(r.create, 50)), fmt(percentile(r.create, 90)), fmt(percentile(r.revoke, 50)), fmt(percentile(r.revoke, 90))]),
  );
  const [without, withEndpoint] = rounds as [Latencies, Latencies];
  const added = (of: (r: Latencies) => number[]) => fmt(percentile(of(withEndpoint), 50) - percentile(of(without), 50), 2);
  const m = machine();
  const report = `# Events out: webhook delivery

${new Date().toISOString()} — ${m.cpu}, ${m.cores} cores, Node ${m.node}; pinning: ${pinningDescription()}

- Server: \`bench/server.ts\` (src through tsx, audit on), PostgreSQL, \`EVENTS_POLL_MS=100\`, \`EVENTS_CONCURRENCY=${CONCURRENCY}\`, \`LOG_LEVEL=warn\`
- Receiver: node:http on 127.0.0.1 in the benchmark's process, answering 200 at once

## Delivery throughput

${EVENTS} events committed to the outbox in one transaction, one endpoint subscribed; from the commit until the receiver has every event.

${throughputTable}

## Added cost on key management

${OPS} creates and ${OPS} revokes in turn, one at a time, over HTTP; then the same with one endpoint subscribed to every event (${delivered} of ${2 * OPS} deliveries arrived).

${costTable}

- Added p50: create **${added((r) => r.create)} ms**, revoke **${added((r) => r.revoke)} ms**
`;
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(ROOT, 'bench', 'results', 'events.md'), report);
  process.stdout.write(`\n${throughputTable}\n\n${costTable}\n\nadded p50: create ${added((r) => r.create)} ms, revoke ${added((r) => r.revoke)} ms\nwritten to bench/results/events.md\n`);
  return throughput.some((t) => t.duplicates > 0) ? 1 : 0;
}

runBenchmark('events', main);
