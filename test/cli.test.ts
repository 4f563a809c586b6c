import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Db } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { Client, PASSWORD } from './harness.js';

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

  it('says what is wrong, and exits 1', () => {
    const cases: Array<[string[], RegExp]> = [
      [['set-ceiling', '--workspace', 'ws_nope', '--per-minute', '10'], /no workspace has the id ws_nope/],
      [['set-ceiling', '--workspace', workspaceId, '--per-minute', '-3'], /whole number/],
      [['set-role', '--email', 'nobody@example.com', '--workspace', workspaceId, '--role', 'admin'], /no user has the email/],
      [['set-role', '--email', 'ops@example.com', '--workspace', workspaceId, '--role', 'king'], /owner, admin or member/],
      [['create-user', '--email', 'new@example.com', '--workspace', workspaceId], /LATCHKEY_PASSWORD/],
    ];
    for (const [args, message] of cases) {
      const run = cli(dataDir, args);
      assert.equal(run.status, 1, `${args.join(' ')}: ${run.stdout}`);
      assert.match(run.stderr, message);
    }
  });
});
