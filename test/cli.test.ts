import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Db } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { connectRedis, type RedisConnections } from '../src/redis.js';
import { Client, PASSWORD } from './harness.js';
import { createTestDatabase, productionServicesSkipReason, TEST_REDIS_URL } from './services.js';

const ROOT = new URL('..', import.meta.url).pathname;

/** The embedded database has one writer, so each step opens it, works and closes it, as an operator would. */
async function withDb<T>(dataDir: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const { db } = openDatabase({ dataDir });
  try {
    await migrateToLatest(db);
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

function cli(dataDir: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('operator CLI', () => {
  let dir: string;
  let dataDir: string;
  let workspaceId: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
    dataDir = join(dir, 'data');
    workspaceId = await withDb(dataDir, async (db) => {
      const app = await buildApp({ config: loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), db });
      const setup = await new Client(app).post('/v1/setup', { email: 'owner@example.com', password: PASSWORD, workspace_name: 'Ops' });
      await app.close();
      return setup.body.workspace.id as string;
    });
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a user in a workspace, changes their role and sets the ceiling', async () => {
    const created = cli(dataDir, ['create-user', '--email', 'Ops@Example.com', '--workspace', workspaceId, '--role', 'admin'], { LATCHKEY_PASSWORD: PASSWORD });
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /ops@example.com .* is now admin/);
    const role = cli(dataDir, ['set-role', '--email', 'ops@example.com', '--workspace', workspaceId, '--role', 'member']);
    assert.equal(role.status, 0, role.stderr);
    const ceiling = cli(dataDir, ['set-ceiling', '--workspace', workspaceId, '--per-minute', '5000']);
    assert.equal(ceiling.status, 0, ceiling.stderr);
    assert.match(cli(dataDir, ['list-workspaces']).stdout, new RegExp(`${workspaceId}\\tOps\\t5000/min\\t300000/hour`));

    await withDb(dataDir, async (db) => {
      const member = await db
        .selectFrom('memberships')
        .innerJoin('users', 'users.id', 'memberships.user_id')
        .select(['memberships.role'])
        .where('users.email', '=', 'ops@example.com')
        .executeTakeFirstOrThrow();
      assert.equal(member.role, 'member');
      const actions = await db.selectFrom('management_events').select(['action', 'source_ip']).where('workspace_id', '=', workspaceId).orderBy('id').execute();
      assert.deepEqual(actions.map((a) => a.action), ['setup', 'member.add', 'member.role_change', 'workspace.ceiling_change']);
      assert.equal(actions.at(-1)?.source_ip, 'cli');
    });
  });

  it('refuses bad input with one clear line and exit code 2, and changes nothing', async () => {
    const password = { LATCHKEY_PASSWORD: PASSWORD };
    const cases: Array<[string[], RegExp, Record<string, string>?]> = [
      [['set-ceiling', '--workspace', 'ws_nope', '--per-minute', '10'], /^latchkey: no workspace has the id ws_nope$/],
      [['set-ceiling', '--workspace', workspaceId, '--per-minute', '-3'], /^latchkey: --per-minute must be at least 1$/],
      [['set-ceiling', '--workspace', workspaceId, '--per-minute', '99999999999'], /^latchkey: --per-minute must be at most 2147483647$/],
      [['set-ceiling', '--workspace', workspaceId, '--per-minute', '1e3'], /^latchkey: --per-minute must be a whole number$/],
      [['set-ceiling', '--workspace', workspaceId, '--per-minute', '100', '--per-hour', '99'], /^latchkey: --per-hour must be at least the per-minute ceiling/],
      [['set-ceiling', '--workspace', workspaceId, '--per-minute', '100', '--per-hour', '3000000000'], /^latchkey: --per-hour must be at most 2147483647$/],
      [['set-ceiling', '--workspace', workspaceId], /required option '--per-minute <n>' not specified/],
      [['create-user', '--email', 'new@example.com', '--workspace', 'ws_nope'], /^latchkey: no workspace has the id ws_nope$/, password],
      [['create-user', '--email', 'not-an-email', '--workspace', workspaceId], /^latchkey: --email is not a valid email address$/, password],
      [['create-user', '--email', 'new@example.com', '--workspace', workspaceId, '--password', 'short'], /^latchkey: --password must be at least 10 characters$/],
      [['create-user', '--email', 'new@example.com', '--workspace', workspaceId, '--role', 'king'], /^latchkey: --role must be one of: owner, admin, member$/, password],
      [['create-user', '--email', 'new@example.com', '--workspace', workspaceId], /LATCHKEY_PASSWORD/],
      [['set-role', '--email', 'nobody@example.com', '--workspace', workspaceId, '--role', 'admin'], /^latchkey: no user has the email nobody@example.com$/],
      [['set-role', '--email', 'owner@example.com', '--workspace', workspaceId, '--role', 'king'], /--role must be one of: owner, admin, member$/],
    ];
    const before = await withDb(dataDir, snapshot);
    for (const [args, message, env] of cases) {
      const run = cli(dataDir, args, env);
      const lines = run.stderr.trim().split('\n');
      assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(lines.length, 1, `one line: ${run.stderr}`);
      assert.match(lines[0]!, message);
      assert.doesNotMatch(run.stderr, /out of range|violates|constraint|relation|at .*\.ts/, 'no raw database error or stack');
    }
    assert.deepEqual(await withDb(dataDir, snapshot), before, 'no refusal wrote anything');
  });

  it('creates a service key whose secret is printed once, lists keys without secrets, revokes one; refuses unknown permissions and workspaces', async () => {
    const created = cli(dataDir, ['create-service-key', '--name', 'billing-backend', '--permissions', 'keys:read,workspaces:read', '--workspace', workspaceId]);
    assert.equal(created.status, 0, created.stderr);
    const secret = created.stdout.trim();
    assert.match(secret, /^lk_svc_[0-9A-Za-z]{36}$/, 'stdout is the secret alone, for a script to capture');
    assert.ok(!created.stderr.includes(secret.slice(8)), 'the secret is printed once');
    const id = /(svk_\w+)/.exec(created.stderr)?.[1];
    assert.ok(id, created.stderr);
    assert.match(created.stderr, new RegExp(`keys:read, workspaces:read; ${workspaceId}`));

    const listed = cli(dataDir, ['list-service-keys']);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${id}\tbilling-backend\tlk_svc_\\w+…?\tkeys:read,workspaces:read\t${workspaceId}\tactive\tnever used$`, 'm'));
    assert.ok(!listed.stdout.includes(secret.slice(8, 20)), 'no secret in the list');

    // The key works on the management API of this installation, within its workspace.
    const status = await withDb(dataDir, async (db) => {
      const app = await buildApp({ config: loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), db });
      const reply = await app.inject({ url: `/v1/workspaces/${workspaceId}/members`, headers: { authorization: `Bearer ${secret}` } });
      await app.close();
      return reply.statusCode;
    });
    assert.equal(status, 200);

    const revoked = cli(dataDir, ['revoke-service-key', id]);
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.match(cli(dataDir, ['list-service-keys']).stdout, new RegExp(`^${id}\t.*\trevoked \\d{4}-`, 'm'));
    const after = await withDb(dataDir, async (db) => {
      const app = await buildApp({ config: loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), db });
      const reply = await app.inject({ url: `/v1/workspaces/${workspaceId}/members`, headers: { authorization: `Bearer ${secret}` } });
      await app.close();
      return reply.json() as { error: { code: string } };
    });
    assert.equal(after.error.code, 'invalid_service_key');

    const before = await withDb(dataDir, (db) => db.selectFrom('service_keys').select('id').execute());
    const refusals: Array<[string[], RegExp]> = [
      [['create-service-key', '--name', 'x', '--permissions', 'keys:read,keys:destroy'], /^latchkey: --permissions: "keys:destroy" is not a permission; give some of: workspaces:read, /],
      [['create-service-key', '--name', 'x', '--permissions', 'keys:read', '--workspace', 'ws_01m8xxf5wcs8can98taepnp3k2'], /^latchkey: no workspace has the id ws_01m8xxf5wcs8can98taepnp3k2$/],
      [['revoke-service-key', id], new RegExp(`^latchkey: no active service key has the id ${id}$`)],
    ];
    for (const [args, message] of refusals) {
      const run = cli(dataDir, args);
      assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr.trim(), message);
      assert.equal(run.stdout, '', 'no secret printed for a refused key');
    }
    assert.deepEqual(await withDb(dataDir, (db) => db.selectFrom('service_keys').select('id').execute()), before, 'no refusal created a key');
  });

  it('lowering the ceiling brings every key over it within it, records each and names them; raising it changes no key', async () => {
    const keys = await withDb(dataDir, async (db) => {
      const app = await buildApp({ config: loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), db });
      const owner = new Client(app);
      await owner.post('/v1/auth/login', { email: 'owner@example.com', password: PASSWORD });
      const url = `/v1/workspaces/${workspaceId}/api-keys`;
      const create = async (name: string, rate_limit: unknown) => (await owner.post(url, { name, scopes: ['tickets:read'], rate_limit })).body.id as string;
      const ids = {
        minute: await create('minute-only', { per_minute: 1000 }),
        hour: await create('hour-only', { per_hour: 60000 }),
        both: await create('both', { per_minute: 50, per_hour: 150 }),
        small: await create('small', { per_minute: 3 }),
        revoked: await create('revoked', { per_minute: 1000 }),
      };
      await owner.delete(`${url}/${ids.revoked}`);
      await app.close();
      return ids;
    });
    const lowered = cli(dataDir, ['set-ceiling', '--workspace', workspaceId, '--per-minute', '100', '--per-hour', '200']);
    assert.equal(lowered.status, 0, lowered.stderr);
    assert.match(lowered.stdout, /ceiling 100\/min, 200\/hour; 2 key\(s\) brought within it/);
    assert.match(lowered.stdout, new RegExp(`${keys.minute}\tminute-only\t1000/min -> 100/min \\+ 200/hour`));
    assert.match(lowered.stdout, new RegExp(`${keys.hour}\thour-only\t5000/min \\+ 60000/hour -> 100/min \\+ 200/hour`));

    await withDb(dataDir, async (db) => {
      const limits = async (id: string) => {
        const row = await db.selectFrom('api_keys').select(['rate_limit_per_minute', 'rate_limit_per_hour']).where('id', '=', id).executeTakeFirstOrThrow();
        return [row.rate_limit_per_minute, row.rate_limit_per_hour];
      };
      assert.deepEqual(await limits(keys.minute), [100, 200]);
      assert.deepEqual(await limits(keys.hour), [100, 200]);
      assert.deepEqual(await limits(keys.both), [50, 150], 'within the new ceiling: unchanged');
      assert.deepEqual(await limits(keys.small), [3, null], '3/min is at most 180/h: unchanged');
      assert.deepEqual(await limits(keys.revoked), [1000, null], 'a revoked key is left as it was');
      const events = await db
        .selectFrom('management_events')
        .select(['action', 'target_id', 'details', 'source_ip'])
        .where('workspace_id', '=', workspaceId)
        .where('action', 'in', ['workspace.ceiling_change', 'api_key.update'])
        .orderBy('id')
        .execute();
      const last = events.slice(-3);
      assert.deepEqual(last.map((e) => [e.action, e.target_id]), [
        ['workspace.ceiling_change', workspaceId],
        ['api_key.update', keys.minute],
        ['api_key.update', keys.hour],
      ]);
      assert.deepEqual(last[1]?.details.previous_rate_limit, { per_minute: 1000, per_hour: null });
      assert.deepEqual(last[1]?.details.rate_limit, { per_minute: 100, per_hour: 200 });
      assert.equal(last[1]?.details.reason, 'workspace ceiling lowered');
      assert.ok(last.every((e) => e.source_ip === 'cli'));
    });

    const raised = cli(dataDir, ['set-ceiling', '--workspace', workspaceId, '--per-minute', '5000']);
    assert.equal(raised.status, 0, raised.stderr);
    assert.match(raised.stdout, /ceiling 5000\/min, 300000\/hour; 0 key\(s\) brought within it\n$/);
  });
});

/** What a refused command must leave as it was. */
async function snapshot(db: Db) {
  const count = async (table: 'users' | 'memberships' | 'management_events' | 'api_records') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const workspaces = await db.selectFrom('workspaces').select(['id', 'ceiling_per_minute', 'ceiling_per_hour']).orderBy('id').execute();
  return { workspaces, users: await count('users'), memberships: await count('memberships'), events: await count('management_events'), records: await count('api_records') };
}

describe('operator CLI beside running servers (PostgreSQL and Redis)', { skip: (await productionServicesSkipReason()) ?? false }, () => {
  it("announces every key a lowered ceiling changes, so a running server's cache drops it before the next request", async () => {
    const database = await createTestDatabase();
    const { db } = openDatabase({ databaseUrl: database.url, poolSize: 2 });
    let redis: RedisConnections | undefined;
    try {
      await migrateToLatest(db);
      redis = await connectRedis(TEST_REDIS_URL);
      const app = await buildApp({ config: loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent' }), db, redis });
      try {
        const owner = new Client(app);
        const setup = await owner.post('/v1/setup', { email: 'owner@example.com', password: PASSWORD, workspace_name: 'Ops' });
        const workspaceId = setup.body.workspace.id as string;
        const key = (await owner.post(`/v1/workspaces/${workspaceId}/api-keys`, { name: 'bulk', scopes: ['tickets:read'], rate_limit: { per_minute: 1000 } })).body;
        const limit = async () => {
          const reply = await app.inject({ url: '/api/v1/ping', headers: { authorization: `Bearer ${key.secret}` } });
          assert.equal(reply.statusCode, 200, reply.body);
          return reply.headers['x-ratelimit-limit'];
        };
        assert.equal(await limit(), '1000');
        assert.equal(await limit(), '1000', 'served from the cache');

        // Run without blocking this process, as a server runs beside the operator's shell; the announcement
        // is on Redis when the CLI exits, and a server's subscriber reads it within milliseconds.
        const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'set-ceiling', '--workspace', workspaceId, '--per-minute', '10', '--per-hour', '600'], {
          cwd: ROOT,
          env: { ...process.env, DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL },
          encoding: 'utf8',
          timeout: 60_000,
        });
        assert.match(run.stdout, new RegExp(`${key.id}\tbulk\t1000/min -> 10/min`));
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(await limit(), '10', 'the next request sees the fitted limit');
      } finally {
        await app.close();
      }
    } finally {
      await redis?.close();
      await db.destroy();
      await database.drop();
    }
  });
});
