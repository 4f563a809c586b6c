import { sql } from 'kysely';
import type { Db } from '../db/client.js';

interface Use {
  keyId: string;
  secretId: string;
  at: Date;
  ip: string;
}

export interface UsageTracker {
  /** Called on every verified request: no allocation once a secret version has a pending use. */
  record(keyId: string, secretId: string, at: Date, ip: string): void;
  /** Writes what has gathered; called on a timer and on shutdown. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * "Last used" without a database write per request: uses gather in memory, one per secret version
 * (the latest wins), and are written together every `intervalMs`. Each write only moves a timestamp
 * forward, so instances flushing in any order agree. A failed flush keeps its uses for the next one.
 */
/** PostgreSQL's SQLSTATE for a transaction it chose to abort to break a deadlock. */
const DEADLOCK_DETECTED = '40P01';

export interface UsageTrackerOptions {
  /**
   * A flush that failed (its uses are kept for the next one). `deadlock`: PostgreSQL aborted it to
   * break a deadlock, which the lock order below is there to prevent, so each one is worth a look.
   */
  onFlushError?: (error: unknown, deadlock: boolean) => void;
}

export function isDeadlock(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === DEADLOCK_DETECTED;
}

export function createUsageTracker(db: Db, intervalMs = 1000, options: UsageTrackerOptions = {}): UsageTracker {
  let pending = new Map<string, Use>();
  let flushing: Promise<void> = Promise.resolve();

  /**
   * Three statements whatever the batch's size (a statement per use stalled PGlite's thread for seconds
   * under many keys): lock the keys, then move each key's and each secret's "last used" forward.
   * Key rows are locked first, in id order, then the secrets: the order the keys service locks them in
   * (rotate, revoke), so a flush and a rotation of the same key wait for each other instead of
   * deadlocking, and two instances' flushes queue up rather than cross.
   */
  async function write(uses: Use[]): Promise<void> {
    const latestPerKey = new Map<string, Use>();
    for (const use of uses) {
      const seen = latestPerKey.get(use.keyId);
      if (!seen || seen.at < use.at) latestPerKey.set(use.keyId, use);
    }
    const keys = [...latestPerKey.values()];
    await db.transaction().execute(async (tx) => {
      await sql`select id from api_keys where id = any(${keys.map((u) => u.keyId)}::text[]) order by id for update`.execute(tx);
      await sql`
        update api_keys k set last_used_at = u.at, last_used_ip = u.ip
        from unnest(${keys.map((u) => u.keyId)}::text[], ${keys.map((u) => u.at)}::timestamptz[], ${keys.map((u) => u.ip)}::text[]) as u(id, at, ip)
        where k.id = u.id and (k.last_used_at is null or k.last_used_at < u.at)
      `.execute(tx);
      await sql`
        update api_key_secrets s set last_used_at = u.at, last_used_ip = u.ip
        from unnest(${uses.map((u) => u.secretId)}::text[], ${uses.map((u) => u.at)}::timestamptz[], ${uses.map((u) => u.ip)}::text[]) as u(id, at, ip)
        where s.id = u.id and (s.last_used_at is null or s.last_used_at < u.at)
      `.execute(tx);
    });
  }

  async function flushOnce(): Promise<void> {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    try {
      await write([...batch.values()].sort((a, b) => a.keyId.localeCompare(b.keyId) || a.secretId.localeCompare(b.secretId)));
    } catch (error) {
      options.onFlushError?.(error, isDeadlock(error));
      for (const [secretId, use] of batch) {
        const later = pending.get(secretId);
        if (!later || later.at < use.at) pending.set(secretId, use);
      }
    }
  }

  const timer = setInterval(() => void tracker.flush(), intervalMs);
  timer.unref();

  const tracker: UsageTracker = {
    record(keyId, secretId, at, ip) {
      // The latest use wins. A pending use is not in a batch being written (a flush swaps the whole map
      // first), so it can be updated in place.
      const use = pending.get(secretId);
      if (use === undefined) pending.set(secretId, { keyId, secretId, at, ip });
      else {
        use.at = at;
        use.ip = ip;
      }
    },
    flush() {
      // One flush at a time: a slow database must not pile up overlapping transactions.
      flushing = flushing.then(flushOnce);
      return flushing;
    },
    async close() {
      clearInterval(timer);
      await tracker.flush();
    },
  };
  return tracker;
}
