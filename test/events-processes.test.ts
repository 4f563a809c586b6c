import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, it } from 'node:test';
import { openDatabase, type Db } from '../src/db/client.js';
import { emitEvent } from '../src/events/outbox.js';
import { addEndpoint, startReceiver, until, type Receiver } from './events-delivery-receiver.js';
import { PASSWORD, postgresSkipReason, uniqueEmail } from './harness.js';
import { freePort, startServer, type RunningServer } from './process.js';
import { createTestDatabase, describeOrSkip } from './services.js';

/**
 * Webhook deliveries with Latchkey as real processes on one PostgreSQL: kept across a SIGKILL, and
 * delivered exactly once (in a run without crashes) by two instances sharing the outbox.
 */

const ROOT = new URL('..', import.meta.url).pathname;
const skip = postgresSkipReason ?? false;
const EVENTS_ENV = { EVENTS_ALLOW_PRIVATE_NETWORKS: 'true', EVENTS_POLL_MS: '50', TEST_EVENTS_RETRY_SCALE: '0.001', LOG_LEVEL: 'warn' };

const start = async (env: Record<string, string>) => startServer(process.execPath, ['--import', 'tsx', `${ROOT}src/main.ts`], env, await freePort());

/** The deliveries an instance made, from its /metrics. */
async function deliveredBy(server: RunningServer): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/^latchkey_event_deliveries_total\{outcome="delivered"\} (\S+)$/m.exec(text)?.[1] ?? 0);
}

/** First-run setup over HTTP; returns the workspace and a way to make changes as its owner. */
async function setup(base: string) {
  let cookie = '';
  let csrf = '';
  const post = async (path: string, body: unknown) => {
    const response = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf }, body: JSON.stringify(body) });
    cookie = response.headers.get('set-cookie')?.split(';')[0] ?? cookie;
    const json = (await response.json()) as { csrf_token?: string; workspace?: { id: string }; id?: string };
    csrf = json.csrf_token ?? csrf;
    assert.equal(response.status, 201, JSON.stringify(json));
    return json;
  };
  const made = await post('/v1/setup', { email: uniqueEmail('owner'), password: PASSWORD, workspace_name: 'Events' });
  return { workspaceId: made.workspace!.id, post };
}

describeOrSkip('events delivery across processes (PostgreSQL)', { skip }, () => {
  let database: { url: string; drop: () => Promise<void> };
  let db: Db;
  const servers: RunningServer[] = [];
  const receivers: Receiver[] = [];

  before(async () => {
    database = await createTestDatabase();
    db = openDatabase({ databaseUrl: database.url, dataDir: 'memory://', poolSize: 4 }).db;
  });

  after(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await Promise.all(receivers.map((receiver) => receiver.close()));
    await db.destroy();
    await database.drop();
  });

  it('an event made while its receiver is down survives a SIGKILL of the instance and is delivered after the restart', async () => {
    const port = await freePort();
    const env = { ...EVENTS_ENV, DATABASE_URL: database.url };
    const first = await start(env);
    servers.push(first);
    const { workspaceId, post } = await setup(first.url);
    const endpoint = await addEndpoint(db, { url: `http://127.0.0.1:${port}/hook`, workspaceId, events: ['api_key.created'] });
    const key = await post(`/v1/workspaces/${workspaceId}/api-keys`, { name: 'made-before-the-crash', scopes: ['conversations:read'] });
    const failing = await until('a failed attempt (the receiver is down)', async () =>
      db.selectFrom('event_deliveries').selectAll().where('endpoint_id', '=', endpoint.id).where('attempts', '>', 0).where('last_error', 'is not', null).executeTakeFirst(),
    );
    assert.equal(failing.status, 'pending');
    assert.match(failing.last_error!, /connection refused/);

    const exited = once(first.child, 'exit');
    process.kill(-first.child.pid!, 'SIGKILL');
    await exited;
    const receiver = await startReceiver(undefined, port);
    receivers.push(receiver);
    const second = await start(env);
    servers.push(second);
    await until('delivered after the restart', async () => receiver.received.length > 0, 30_000);
    const [request] = receiver.received;
    assert.equal(JSON.parse(request!.body).data.object.id, key.id);
    assert.equal(request!.headers['latchkey-event-id'], failing.event_id);
    const delivered = await until('recorded as delivered', async () => {
      const row = await db.selectFrom('event_deliveries').selectAll().where('id', '=', failing.id).executeTakeFirst();
      return row?.status === 'delivered' && row;
    });
    assert.ok(delivered.attempts >= 2);
    await second.stop();
  });

  it('two instances deliver 1,000 events each exactly once', async () => {
    const env = { ...EVENTS_ENV, DATABASE_URL: database.url };
    const receiver = await startReceiver();
    receivers.push(receiver);
    const one = await start(env);
    servers.push(one);
    const two = await start(env);
    servers.push(two);
    const { workspaceId } = await setup(one.url).catch(async () => {
      // The first test already ran first-run setup on this database: a workspace of its own then.
      const workspace = await db.selectFrom('workspaces').select('id').executeTakeFirstOrThrow();
      return { workspaceId: workspace.id };
    });
    const endpoint = await addEndpoint(db, { url: receiver.url, workspaceId, events: ['member.added'] });
    const TOTAL = 1000;
    for (let batch = 0; batch < TOTAL / 100; batch++) {
      await db.transaction().execute(async (tx) => {
        for (let i = 0; i < 100; i++) await emitEvent(tx, { type: 'member.added', workspaceId, data: { n: batch * 100 + i } });
      });
    }
    await until(
      'every delivery delivered',
      async () => {
        const row = await db
          .selectFrom('event_deliveries')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('endpoint_id', '=', endpoint.id)
          .where('status', '=', 'delivered')
          .executeTakeFirstOrThrow();
        return Number(row.n) === TOTAL;
      },
      120_000,
    );
    // Anything sent twice would arrive by now: the leases are 6 s, the attempts were all quick.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ids = receiver.received.map((request) => request.headers['latchkey-event-id'] as string);
    const unique = new Set(ids).size;
    const perInstance = await Promise.all([one, two].map(deliveredBy));
    process.stdout.write(`# 2 instances, ${TOTAL} events: received ${ids.length}, unique ${unique}, duplicates ${ids.length - unique}; delivered by each: ${perInstance.join(' + ')}\n`);
    assert.equal(perInstance[0]! + perInstance[1]!, TOTAL, 'each delivery counted by the instance that made it');
    assert.equal(unique, TOTAL);
    assert.equal(ids.length - unique, 0, 'no duplicates');
    const attempts = await db
      .selectFrom('event_deliveries')
      .select(['attempts'])
      .where('endpoint_id', '=', endpoint.id)
      .execute();
    assert.ok(attempts.every((row) => row.attempts === 1), 'each claimed once');
  });
});
