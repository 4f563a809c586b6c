import { sql } from 'kysely';
import type { Db } from './client.js';

/**
 * Runs `work` on one instance at a time: under a session-level advisory lock, on the connection that holds
 * it, which `work` must use for every query (on PGlite, the only connection: a query on `db` would wait for
 * this one to end). `work` may open transactions on it, so a long run commits as it goes instead of
 * holding one giant transaction. A run that cannot take the lock returns at once (`{ ran: false }`),
 * leaving the work to the instance that holds it; with `wait`, it queues behind it (tests).
 * The lock goes with the connection if the process dies, and is released when `work` ends, even by a throw.
 */
export async function withAdvisoryLock<T>(
  db: Db,
  lockKey: number,
  work: (connection: Db) => Promise<T>,
  options: { wait?: boolean } = {},
): Promise<{ ran: true; value: T } | { ran: false }> {
  return db.connection().execute(async (connection) => {
    if (options.wait) {
      await sql`select pg_advisory_lock(${lockKey})`.execute(connection);
    } else {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${lockKey}) as locked`.execute(connection);
      if (rows[0]?.locked !== true) return { ran: false as const };
    }
    try {
      return { ran: true as const, value: await work(connection) };
    } finally {
      await sql`select pg_advisory_unlock(${lockKey})`.execute(connection);
    }
  });
}
