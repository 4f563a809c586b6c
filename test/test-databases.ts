import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Names of the suites' throwaway databases, and which of them an interrupted run left behind.
 * A name says who made it and when: `latchkey_test_<host>_<pid>_<unix seconds>_<random>`, so that a
 * later run can tell a leftover (its process is gone, or it is older than any run) from a database a
 * concurrent suite is using. Databases named before this scheme (`latchkey_test_<random>`) carry no such
 * facts: only their age, read from the server, can tell.
 */
export const TEST_DATABASE_PREFIX = 'latchkey_test_';

/** Older than this, a test database is a leftover whoever made it: no suite or benchmark runs that long. */
export const STALE_AFTER_SECONDS = 3600;

export const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);

export function testDatabaseName(pid = process.pid, nowSeconds = Math.floor(Date.now() / 1000)): string {
  return `${TEST_DATABASE_PREFIX}${HOST_TAG}_${pid}_${nowSeconds}_${randomBytes(5).toString('hex')}`;
}

export interface StaleCheck {
  nowSeconds: number;
  host: string;
  /** Whether a process of this host with this pid still runs. */
  alive: (pid: number) => boolean;
  /** When the server made it (Unix seconds), if it could say. */
  createdSeconds?: number | undefined;
}

/** Whether a database named `name` is a leftover that may be dropped. */
export function isStaleTestDatabase(name: string, check: StaleCheck): boolean {
  if (!name.startsWith(TEST_DATABASE_PREFIX)) return false;
  const parts = /^([0-9a-f]{6})_(\d+)_(\d+)_[0-9a-f]+$/.exec(name.slice(TEST_DATABASE_PREFIX.length));
  if (!parts) return check.createdSeconds !== undefined && check.nowSeconds - check.createdSeconds > STALE_AFTER_SECONDS;
  const [, host, pid, created] = parts as unknown as [string, string, string, string];
  if (check.nowSeconds - Number(created) > STALE_AFTER_SECONDS) return true;
  return host === check.host && !check.alive(Number(pid));
}

/** Whether a process with this pid runs here (EPERM: it runs, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
