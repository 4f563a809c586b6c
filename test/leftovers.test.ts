import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import pg from 'pg';
import { createTestDatabase, describeOrSkip, postgresSkipReason } from './services.js';
import { processAlive, testDatabaseName } from './test-databases.js';

const ROOT = new URL('..', import.meta.url).pathname;

async function listening(port: number): Promise<boolean> {
  const socket = connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('an interrupted run leaves no server behind', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} to a test process stops the servers it started, even in their own process groups`, { timeout: 90_000 }, async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/start-and-wait.ts'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = once(child, 'exit');
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await eventually('the servers started', () => output.includes('\n') || child.exitCode !== null, 60_000);
      const started = JSON.parse(output) as { serverPid: number; httpPort: number; redisPort: number; postgresPort: number | null };
      const ports = [started.httpPort, started.redisPort, ...(started.postgresPort === null ? [] : [started.postgresPort])];
      for (const port of ports) assert.ok(await listening(port), `port ${port} is served before the signal`);

      child.kill(signal);
      const [code, killedBy] = await exited;
      assert.ok(code !== 0 || killedBy !== null, `the test process ended (${code}, ${killedBy})`);
      await eventually('the detached server gone', () => !processAlive(started.serverPid));
      for (const port of ports) await eventually(`nothing listening on ${port}`, async () => !(await listening(port)));
    });
  }
});

describeOrSkip('leftover test databases', { skip: postgresSkipReason ?? false }, () => {
  it("are dropped at a run's first database, unless a live process made them within the hour", async () => {
    const gone = spawn(process.execPath, ['-e', '']);
    await once(gone, 'exit');
    const leftover = testDatabaseName(gone.pid!);
    const live = testDatabaseName(process.pid);
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
    await admin.connect();
    try {
      await admin.query(`create database ${leftover}`);
      await admin.query(`create database ${live}`);
      const database = await createTestDatabase(); // this process's first: it sweeps
      await database.drop();
      const { rows } = await admin.query<{ datname: string }>('select datname from pg_database where datname = any($1)', [[leftover, live]]);
      assert.deepEqual(rows.map((r) => r.datname), [live]);
    } finally {
      await admin.query(`drop database if exists ${leftover}`);
      await admin.query(`drop database if exists ${live}`);
      await admin.end();
    }
  });
});
