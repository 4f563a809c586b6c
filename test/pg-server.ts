import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, stopOnExit } from './process.js';

const run = promisify(execFile);

/**
 * A private PostgreSQL for the tests that stop and start the database: its own folder, port and socket,
 * so the machine's shared server (5432, used by every other suite) is never touched.
 */
export interface PrivatePostgres {
  url: string;
  port: number;
  /** Starts it (again); does nothing while it runs. */
  start(): Promise<void>;
  /** A fast shutdown: clients are disconnected at once, as when the database goes away. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the server if it runs and removes its folder. */
  destroy(): Promise<void>;
}

/** The folder holding initdb and pg_ctl: $PG_BIN, else the newest /usr/lib/postgresql/<version>/bin. */
export function postgresBinDir(): string | null {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, 'initdb')) ? fromEnv : null;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

/** Why the private-server suites skip, or null; under CI=true a missing PostgreSQL fails the run instead. */
export function privatePostgresSkipReason(): string | null {
  const reason = postgresBinDir() ? null : 'PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin or $PG_BIN';
  if (reason && process.env.CI === 'true') throw new Error(`${reason}; CI=true requires them, so the suite fails rather than skips`);
  if (reason) process.stderr.write(`# skipping: ${reason}\n`);
  return reason;
}

/** initdb refuses to run as root: there, the server runs as the `postgres` user, which owns its folder. */
function serverUserCommand(bin: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

async function asServerUser(bin: string, args: string[]): Promise<void> {
  await run(...serverUserCommand(bin, args), { timeout: 60_000 });
}

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** initdb in a temporary folder, then starts the server on a free port. Call destroy() in `after`. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found');
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  let running = false;
  const pgCtl = (args: string[]) => asServerUser(join(bin, 'pg_ctl'), ['-D', data, ...args]);
  // On an interrupted run: an immediate shutdown, waited for, then the folder goes.
  const unregister = stopOnExit(() => {
    if (existsSync(join(data, 'postmaster.pid'))) spawnSync(...serverUserCommand(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']), { timeout: 35_000 });
    rmSync(dir, { recursive: true, force: true });
  });
  const server: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      if (running) return;
      // Its own socket folder: the default one may belong to the shared server.
      const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
      await pgCtl(['-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '30', 'start']);
      running = true;
    },
    async stop() {
      if (!running) return;
      await pgCtl(['-m', 'fast', '-w', '-t', '30', 'stop']);
      running = false;
    },
    async restart() {
      await server.stop();
      await server.start();
    },
    async destroy() {
      try {
        // The pid file, not our flag: a start that timed out may still have left a server running.
        if (existsSync(join(data, 'postmaster.pid'))) await pgCtl(['-m', 'immediate', '-w', '-t', '30', 'stop']);
      } finally {
        running = false;
        rmSync(dir, { recursive: true, force: true });
        unregister();
      }
    },
  };
  try {
    if (process.getuid?.() === 0) {
      const { uid, gid } = await userIds('postgres');
      chownSync(dir, uid, gid);
    }
    await asServerUser(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    await server.start();
  } catch (error) {
    await server.destroy().catch(() => {});
    throw error;
  }
  return server;
}
