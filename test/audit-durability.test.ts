import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { createAuditWriter, type AuditEvent } from '../src/audit/audit-writer.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Db } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { newId } from '../src/ids.js';
import { Client, PASSWORD, postgresSkipReason, uniqueEmail } from './harness.js';
import { privatePostgresSkipReason, startPrivatePostgres, type PrivatePostgres } from './pg-server.js';
import { freePort, startServer, type RunningServer } from './process.js';
import { createTestDatabase, describeOrSkip } from './services.js';

const ROOT = new URL('..', import.meta.url).pathname;

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Counts by status code, e.g. { "200": 1520, "503": 12 }. */
type Tally = Record<string, number>;

function total(tally: Tally): number {
  return Object.values(tally).reduce((sum, n) => sum + n, 0);
}

async function statusTally(url: string): Promise<Tally> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ status: number; n: string }>('select status, count(*) as n from audit_events group by status');
    return Object.fromEntries(rows.map((r) => [String(r.status), Number(r.n)]));
  } finally {
    await client.end();
  }
}

/** The owner and a key with a very high limit, through the management API of a running server. */
async function ownerKey(base: string): Promise<string> {
  let cookie = '';
  let csrf = '';
  const call = async (path: string, body: unknown) => {
    const response = await fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    });
    cookie = response.headers.get('set-cookie')?.split(';')[0] ?? cookie;
    const json = (await response.json()) as { csrf_token?: string; workspace?: { id: string }; secret?: string };
    csrf = json.csrf_token ?? csrf;
    assert.equal(response.status, 201, JSON.stringify(json));
    return json;
  };
  const setup = await call('/v1/setup', { email: uniqueEmail('owner'), password: PASSWORD, workspace_name: 'Load' });
  const key = await call(`/v1/workspaces/${setup.workspace!.id}/api-keys`, { name: 'load', scopes: ['conversations:read'], rate_limit: { per_minute: 1_000_000 } });
  return key.secret!;
}

/** Where a server under test keeps its data, and how to count its audit events once it has exited. */
interface Storage {
  env: Record<string, string>;
  tally(): Promise<Tally>;
  remove(): Promise<void>;
}

async function postgresStorage(): Promise<Storage> {
  const database = await createTestDatabase();
  return { env: { DATABASE_URL: database.url }, tally: () => statusTally(database.url), remove: database.drop };
}

function pgliteStorage(): Storage {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-data-'));
  return {
    env: { DATA_DIR: dataDir },
    async tally() {
      const { db } = openDatabase({ dataDir });
      try {
        const rows = await db.selectFrom('audit_events').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
        return Object.fromEntries(rows.map((r) => [String(r.status), Number(r.n)]));
      } finally {
        await db.destroy();
      }
    },
    remove: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

const sigtermBackends = [
  // PostgreSQL: the production shape, counted by another connection after the process is gone.
  { backend: 'postgres', skip: postgresSkipReason ?? false, storage: postgresStorage },
  // PGlite in a data folder: `npm start` with no configuration, counted by reopening the folder.
  { backend: 'pglite', skip: false, storage: async () => pgliteStorage() },
] as const;

for (const { backend, skip, storage: makeStorage } of sigtermBackends) {
  describeOrSkip(`audit durability: SIGTERM under load [${backend}]`, { skip, timeout: 90_000 }, () => {
    let storage: Storage | undefined;
    let server: RunningServer | undefined;

    before(async () => {
      storage = await makeStorage();
      const env = { ...storage.env, DEFAULT_CEILING_PER_MINUTE: '1000000', LOG_LEVEL: 'warn' };
      server = await startServer(process.execPath, ['--import', 'tsx', `${ROOT}src/main.ts`], env, await freePort());
    });
    after(async () => {
      await server?.stop();
      await storage?.remove();
    });

    it('writes an event for every request it answered, those answered while it shut down included', { timeout: 60_000 }, async () => {
      const { url, child } = server!;
      const secret = await ownerKey(url);
      const answered: Tally = {};
      const shedAtClose: Tally = {};
      let stopping = false;
      const loop = async () => {
        for (;;) {
          try {
            const response = await fetch(`${url}/api/v1/ping`, { headers: { authorization: `Bearer ${secret}` } });
            await response.arrayBuffer();
            // A bare 503 from Fastify while closing would run no hook (no Request-Id, no event); app.ts turns
            // that off, so any such answer is counted apart and fails the test below.
            const shed = response.status === 503 && !response.headers.has('request-id');
            const tally = shed ? shedAtClose : answered;
            tally[response.status] = (tally[response.status] ?? 0) + 1;
          } catch (error) {
            // Refused or reset: the server no longer takes requests. Before SIGTERM, that is a failure.
            if (!stopping) throw error;
            return;
          }
        }
      };
      const loops = Array.from({ length: 20 }, loop);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const exited = once(child, 'exit');
      stopping = true;
      const answeredBeforeSigterm = total(answered);
      // The node process itself (startServer runs it directly), as an orchestrator stops a container.
      child.kill('SIGTERM');
      await Promise.all(loops);
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
      clearTimeout(killer);
      assert.equal(signal, null, `the server did not exit by itself:\n${server!.output()}`);
      assert.equal(code, 0, server!.output());

      const written = await storage!.tally();
      const report = `answered ${JSON.stringify(answered)} (${answeredBeforeSigterm} before SIGTERM) and ${total(shedAtClose)} shed by Fastify at close, written ${JSON.stringify(written)}`;
      process.stderr.write(`# SIGTERM under load [${backend}]: ${report}\n`);
      assert.ok(answeredBeforeSigterm > 50, `too little load to mean anything: ${report}`);
      assert.doesNotMatch(server!.output(), /audit events lost/, report);
      assert.deepEqual(written, answered, report);
      assert.equal(total(shedAtClose), 0, `requests answered without an event: ${report}`);
    });
  });
}

function auditEvent(label: string): AuditEvent {
  const createdAt = new Date();
  return {
    id: newId('evt', createdAt.getTime()),
    created_at: createdAt,
    workspace_id: null,
    mode: null,
    key_id: null,
    key_name: null,
    secret_id: null,
    secret_version: null,
    method: 'GET',
    route: '/api/v1/ping',
    path: `/api/v1/ping/${label}`,
    status: 401,
    latency_ms: 0.1,
    source_ip: '127.0.0.1',
    user_agent: null,
    request_id: newId('req'),
    error_code: 'unauthorized',
    scope: null,
    scope_used: null,
    argument_hash: 'test',
    upstream_ms: null,
    payload: null,
  };
}

async function auditedPaths(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('audit_events').select('path').orderBy('path').execute();
  return rows.map((r) => r.path);
}

const CONVERSATIONS = '/api/v1/conversations?limit=1';

/**
 * Concurrent calls throughout an outage: a cached key on /api/v1/ping (answered without the database)
 * and /api/v1/conversations (which reads it), each refusal checked for what a client needs to retry.
 */
class RestartLoad {
  phase: 'up' | 'down' = 'up';
  /** By route and status, the calls answered while the database was away. */
  readonly down: Record<string, Tally> = {};
  readonly failures: string[] = [];
  readonly unclear: string[] = [];
  readonly #answered: Tally = {};
  readonly #okTimes: Record<string, number[]> = {};
  #running = true;
  readonly #loops: Promise<void>[];

  constructor(
    private readonly base: string,
    private readonly secret: string,
    perRoute = 4,
  ) {
    this.#loops = ['/api/v1/ping', CONVERSATIONS].flatMap((path) => Array.from({ length: perRoute }, () => this.#loop(path)));
  }

  async #loop(path: string): Promise<void> {
    while (this.#running) {
      try {
        const response = await fetch(this.base + path, { headers: { authorization: `Bearer ${this.secret}` } });
        const body = await response.text();
        const status = String(response.status);
        this.#answered[status] = (this.#answered[status] ?? 0) + 1;
        if (response.status === 200) (this.#okTimes[path] ??= []).push(performance.now());
        else if (response.status !== 503 || !/"service_unavailable"/.test(body) || !(Number(response.headers.get('retry-after')) > 0)) this.unclear.push(`${status} ${body}`);
        if (this.phase === 'down') {
          const tally = (this.down[path] ??= {});
          tally[status] = (tally[status] ?? 0) + 1;
        }
      } catch (error) {
        this.failures.push(`${path}: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  ok(path: string): number {
    return this.#okTimes[path]?.length ?? 0;
  }

  /** How many 200s a route had got by `time`. */
  okAt(path: string, time: number): number {
    return (this.#okTimes[path] ?? []).filter((t) => t <= time).length;
  }

  firstOkSince(path: string, time: number): number | null {
    return this.#okTimes[path]?.find((t) => t > time) ?? null;
  }

  answeredByStatus(): Tally {
    return { ...this.#answered };
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }
}

describeOrSkip('audit durability: the database goes away and comes back (a private PostgreSQL)', { skip: privatePostgresSkipReason() ?? false, timeout: 120_000 }, () => {
  let postgres: PrivatePostgres | undefined;
  let db: Db | undefined;

  before(async () => {
    postgres = await startPrivatePostgres();
    db = openDatabase({ databaseUrl: postgres.url, poolSize: 4 }).db;
    await migrateToLatest(db);
  });
  after(async () => {
    await db?.destroy();
    await postgres?.destroy();
  });

  it('answers while PostgreSQL is down, and writes every answered call once it is back', { timeout: 60_000 }, async () => {
    const config = loadConfig({ DATABASE_URL: postgres!.url });
    const app: FastifyInstance = await buildApp({ config, db: db!, logger: pino({ level: 'silent' }) });
    try {
      const owner = new Client(app);
      const setup = await owner.post('/v1/setup', { email: uniqueEmail('owner'), password: PASSWORD, workspace_name: 'Outage' });
      assert.equal(setup.status, 201, setup.raw);
      const key = await owner.post(`/v1/workspaces/${setup.body.workspace.id}/api-keys`, { name: 'outage', scopes: ['conversations:read'] });
      assert.equal(key.status, 201, key.raw);
      const ping = async () => (await app.inject({ url: '/api/v1/ping', headers: { authorization: `Bearer ${key.body.secret}` } })).statusCode;
      const queued = async () => Number(/^latchkey_audit_events_queued (\d+)$/m.exec((await app.inject({ url: '/metrics' })).body)?.[1]);
      const events = async () => Number((await db!.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

      const up: number[] = [];
      for (let i = 0; i < 10; i++) up.push(await ping());
      assert.deepEqual(up, Array(10).fill(200));
      await until('the first 10 events written', 10_000, async () => (await events()) === 10);

      await postgres!.stop();
      const down: number[] = [];
      for (let i = 0; i < 10; i++) down.push(await ping());
      // The key is cached, so calls are still answered without the database; each answer is an event.
      assert.deepEqual(down, Array(10).fill(200), 'a cached key answers without the database');
      // A call that needs the database answers a clear 503, and is audited like any other.
      const failed = await app.inject({ url: '/api/v1/conversations', headers: { authorization: `Bearer ${key.body.secret}` } });
      assert.equal(failed.statusCode, 503, failed.body);
      assert.equal(JSON.parse(failed.body).error.code, 'service_unavailable');
      assert.ok(Number(failed.headers['retry-after']) > 0);
      await until('events waiting in the queue', 5_000, async () => (await queued()) === 11);
      assert.equal((await app.inject({ url: '/readyz' })).statusCode, 503);

      await postgres!.start();
      await until('every answered call written once the database is back', 30_000, async () => (await events().catch(() => -1)) === 21);
      const refused = await db!.selectFrom('audit_events').select(['status', 'error_code']).where('request_id', '=', String(failed.headers['request-id'])).executeTakeFirstOrThrow();
      assert.deepEqual(refused, { status: 503, error_code: 'service_unavailable' });
      assert.equal(await queued(), 0);
    } finally {
      await postgres!.start();
      await app.close();
    }
  });

  it('a real server under load: clear 503s while PostgreSQL is stopped, no crash, recovers by itself, writes every answered call', { timeout: 90_000 }, async () => {
    // Its own database on the private server, and the server as `npm start` runs it (pool, no Redis).
    const name = `restart_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: postgres!.url });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const databaseUrl = postgres!.url.replace(/\/postgres$/, `/${name}`);
    const env = { DATABASE_URL: databaseUrl, DEFAULT_CEILING_PER_MINUTE: '1000000', LOG_LEVEL: 'warn' };
    const server = await startServer(process.execPath, ['--import', 'tsx', `${ROOT}src/main.ts`], env, await freePort());
    const load = new RestartLoad(server.url, await ownerKey(server.url));
    try {
      await until('load on both routes', 15_000, async () => load.ok('/api/v1/ping') > 50 && load.ok(CONVERSATIONS) > 50);

      await postgres!.stop();
      const stoppedAt = performance.now();
      load.phase = 'down';
      const state = () => `${JSON.stringify({ down: load.down, failures: load.failures.slice(0, 3), answered: load.answeredByStatus() })}\n${server.output()}`;
      await until('calls needing the database refused while it is away', 15_000, async () => (load.down[CONVERSATIONS]?.['503'] ?? 0) >= 20).catch((error: Error) => {
        throw new Error(`${error.message}: ${state()}`);
      });
      // Away for a few seconds, under load, before it comes back.
      await until('three seconds of outage', 10_000, async () => performance.now() - stoppedAt > 3000);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 503);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      const queuedWhileDown = Number(/^latchkey_audit_events_queued (\d+)$/m.exec(metrics)?.[1]);
      assert.ok(queuedWhileDown > 0, 'events wait in the queue while the database is away');
      const downForMs = performance.now() - stoppedAt;

      await postgres!.start();
      const startedAt = performance.now();
      load.phase = 'up';
      // Recovery by itself: nothing is restarted or told; a generous bound, the measured figure is reported.
      await until('a call needing the database answered again', 20_000, async () => load.firstOkSince(CONVERSATIONS, startedAt) !== null);
      const recoveredMs = load.firstOkSince(CONVERSATIONS, startedAt)! - startedAt;
      await until('readyz answering again', 20_000, async () => (await fetch(`${server.url}/readyz`)).status === 200);
      await until('more load after recovery', 15_000, async () => load.ok(CONVERSATIONS) > load.okAt(CONVERSATIONS, startedAt) + 50);
      await load.stop();

      assert.equal(server.child.exitCode, null, `the server exited: ${state()}`);
      assert.deepEqual(load.failures, [], 'every call answered: no connection refused or reset');
      assert.deepEqual(load.unclear, [], 'every refusal is a 503 service_unavailable with Retry-After');
      const answered = load.answeredByStatus();
      const report = `answered ${JSON.stringify(answered)}; while down ${JSON.stringify(load.down)}; PostgreSQL away ${Math.round(downForMs)} ms with ${queuedWhileDown} events queued; first 200 needing the database ${Math.round(recoveredMs)} ms after it accepted connections again`;
      process.stderr.write(`# PostgreSQL restarted under load: ${report}\n`);
      assert.ok((load.down['/api/v1/ping']?.['200'] ?? 0) > 0, `a cached key is answered while the database is away: ${report}`);
      // Every answered call is written, those answered while the database was away included.
      await until('the buffered events written', 30_000, async () => JSON.stringify(await statusTally(databaseUrl)) === JSON.stringify(answered));
      assert.deepEqual(await statusTally(databaseUrl), answered, report);
    } finally {
      await load.stop();
      await postgres!.start();
      await server.stop();
    }
  });

  it('keeps the newest events when the queue is full, reports what it dropped, and never throws', { timeout: 60_000 }, async () => {
    await db!.deleteFrom('audit_events').execute();
    const dropped: number[] = [];
    const errors: unknown[] = [];
    const writer = createAuditWriter({ db: db!, maxQueue: 3, flushIntervalMs: 20, onDropped: (n) => dropped.push(n), onWriteError: (e) => errors.push(e) });
    try {
      await postgres!.stop();
      for (let i = 1; i <= 10; i++) writer.enqueue(auditEvent(String(i).padStart(2, '0')));
      await writer.flush();
      await until('a write attempted and refused', 5_000, async () => errors.length > 0);
      // A retry in flight takes its batch out of the queue a moment: wait for it to be back.
      await until('the three newest events waiting', 5_000, async () => writer.queued === 3);
      assert.equal(dropped.reduce((sum, n) => sum + n, 0), 7);
      // Closing while the database is still away gives up at its deadline and says what is left.
      assert.deepEqual(await writer.close(300), { unwritten: 3 });
      await postgres!.start();
      const { unwritten } = await writer.close(20_000);
      assert.equal(unwritten, 0);
      assert.deepEqual(await auditedPaths(db!), ['/api/v1/ping/08', '/api/v1/ping/09', '/api/v1/ping/10']);
    } finally {
      await writer.close(0);
      await postgres!.start();
    }
  });
});

/** The status line and Connection header of what a raw socket received. */
function responseHead(raw: string): string[] {
  return raw.split('\r\n').filter((line) => /^HTTP\/1\.1 |^connection:/i.test(line));
}

/*
 * The two narrow windows of a graceful shutdown, made to happen on purpose: the load test above only
 * falls into them by chance (a request arriving after close began; a batch still being written).
 */
describe('audit durability: graceful close, in process [pglite]', () => {
  let db: Db | undefined;

  before(async () => {
    db = openDatabase({ dataDir: 'memory://' }).db;
    await migrateToLatest(db);
  });
  after(async () => {
    await db?.destroy();
  });

  it(
    'audits a request that arrives on an open connection after close began',
    { timeout: 20_000 },
    async () => {
      const app = await buildApp({ config: loadConfig({ DATA_DIR: 'memory://' }), db: db!, logger: pino({ level: 'silent' }) });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      assert.ok(address && typeof address === 'object');
      const socket = connect(address.port, '127.0.0.1');
      await once(socket, 'connect');
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      // The request has begun on this connection (so it is not idle) when the shutdown starts.
      socket.write('GET /api/v1/ping?late=1 HTTP/1.1\r\nHost: latchkey\r\n');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const closing = app.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.write('Authorization: Bearer lk_live_notakey\r\n\r\n');
      await until('an answer', 5_000, async () => received.includes('\r\n\r\n'));
      socket.end();
      await closing;
      assert.equal(responseHead(received)[0], 'HTTP/1.1 401 Unauthorized', received);
      assert.deepEqual(await auditedPaths(db!), ['/api/v1/ping']);
    },
  );

  it('leaves out an event the database refuses for its content, writes the rest of its batch, and keeps writing', { timeout: 20_000 }, async () => {
    await db!.deleteFrom('audit_events').execute();
    const rejected: Array<{ code: unknown; path: string }> = [];
    const written: number[] = [];
    const writeErrors: unknown[] = [];
    const writer = createAuditWriter({
      db: db!,
      onRejected: (error, event) => rejected.push({ code: (error as { code?: unknown }).code, path: event.path }),
      onWritten: (count) => written.push(count),
      onWriteError: (error) => writeErrors.push(error),
    });
    try {
      const events = ['1', '2', '3', '4', '5', '6', '7'].map(auditEvent);
      // An int4 out of range (22003) and a second row with another's key (23505): refused however often retried.
      events[2]!.secret_version = 2 ** 31;
      events[5] = { ...events[4]!, path: '/api/v1/ping/duplicate' };
      for (const event of events) writer.enqueue(event);
      await writer.flush();
      assert.deepEqual(writeErrors, []);
      assert.equal(writer.queued, 0);
      assert.deepEqual(
        rejected.map((r) => r.code),
        ['22003', '23505'],
      );
      assert.equal(rejected[0]!.path, '/api/v1/ping/3');
      assert.equal(
        written.reduce((sum, n) => sum + n, 0),
        5,
      );
      assert.deepEqual(await auditedPaths(db!), ['/api/v1/ping/1', '/api/v1/ping/2', '/api/v1/ping/4', '/api/v1/ping/5', '/api/v1/ping/7']);
      writer.enqueue(auditEvent('8'));
      await writer.flush();
      assert.equal((await auditedPaths(db!)).length, 6);
    } finally {
      await writer.close(0);
    }
  });

  it(
    'close() waits for a batch that is being written',
    { timeout: 20_000 },
    async () => {
      await db!.deleteFrom('audit_events').execute();
      const writer = createAuditWriter({ db: db! });
      let busyEnded = false;
      // Something else holds PGlite's one connection a moment (as usage or retention may at shutdown).
      const busy = db!.transaction().execute(async (tx) => {
        await tx.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
        await new Promise((resolve) => setTimeout(resolve, 300));
        busyEnded = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (let i = 1; i <= 5; i++) writer.enqueue(auditEvent(String(i)));
      void writer.flush(); // as the timer would: the batch leaves the queue and waits for the connection
      const { unwritten } = await writer.close();
      // main.ts destroys the database right after close(): the batch must be written by now.
      const writtenAtClose = busyEnded;
      await busy;
      assert.equal(unwritten, 0);
      assert.ok(writtenAtClose, 'close() resolved while its last batch was still waiting to be written');
      assert.equal((await auditedPaths(db!)).length, 5);
    },
  );
});
