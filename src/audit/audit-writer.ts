import { sql } from 'kysely';
import type { Db, Tx } from '../db/client.js';
import type { AuditEventRow } from '../db/schema.js';

/** One /api call, as the audit log keeps it: its row, the scope it used, and its redacted payload. */
export type AuditEvent = AuditEventRow & {
  /** The scope the call used, when it got past every check (for "scopes used" and least privilege). */
  scope_used: string | null;
  payload: Record<string, unknown> | null;
  /**
   * A call with no recognised key past its source IP's failure budget: counted in audit_unattributed
   * (per address, error code and minute) instead of kept as an event of its own.
   */
  summarized?: boolean;
};

export interface AuditWriterOptions {
  db: Db;
  /** Events waiting at most; past it the oldest are dropped, counted and reported. */
  maxQueue?: number;
  batchSize?: number;
  flushIntervalMs?: number;
  onDropped?: (count: number) => void;
  onWriteError?: (error: unknown, queued: number) => void;
  /** An event the database refused for what it holds (not for being away): left out, so the rest can be written. */
  onRejected?: (error: unknown, event: AuditEvent) => void;
  onWritten?: (count: number) => void;
}

export interface AuditWriter {
  /** Never waits and never throws: the request that produced the event is already answered. */
  enqueue(event: AuditEvent): void;
  /** Writes everything queued now; resolves when it is written or the database refused it (kept for later). */
  flush(): Promise<void>;
  /** Writes everything, retrying while the database is away, for at most `timeoutMs`. Resolves with what was left. */
  close(timeoutMs?: number): Promise<{ unwritten: number }>;
  readonly queued: number;
}

const HOUR_MS = 3_600_000;

function hourOf(date: Date): Date {
  return new Date(Math.floor(date.getTime() / HOUR_MS) * HOUR_MS);
}

function dayOf(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Adds a batch to the rollups that usage and anomaly queries read, one upsert per table. */
async function writeRollups(tx: Tx, events: readonly AuditEvent[]): Promise<void> {
  const hourly = new Map<string, { workspace_id: string; key_id: string; hour: Date; route: string; status: number; error_code: string; scope_used: string; requests: number }>();
  const ips = new Map<string, { workspace_id: string; key_id: string; day: string; source_ip: string; first_seen: Date; last_seen: Date; requests: number }>();
  for (const e of events) {
    if (!e.key_id || !e.workspace_id) continue;
    const hour = hourOf(e.created_at);
    const row = { workspace_id: e.workspace_id, key_id: e.key_id, hour, route: e.route ?? '(unknown route)', status: e.status, error_code: e.error_code ?? '', scope_used: e.scope_used ?? '' };
    const hourKey = [row.key_id, hour.getTime(), row.route, row.status, row.error_code, row.scope_used].join('\u0000');
    const existing = hourly.get(hourKey);
    if (existing) existing.requests++;
    else hourly.set(hourKey, { ...row, requests: 1 });

    const day = dayOf(e.created_at);
    const ipKey = [e.key_id, day, e.source_ip].join('\u0000');
    const ip = ips.get(ipKey);
    if (ip) {
      ip.requests++;
      if (e.created_at < ip.first_seen) ip.first_seen = e.created_at;
      if (e.created_at > ip.last_seen) ip.last_seen = e.created_at;
    } else {
      ips.set(ipKey, { workspace_id: e.workspace_id, key_id: e.key_id, day, source_ip: e.source_ip, first_seen: e.created_at, last_seen: e.created_at, requests: 1 });
    }
  }
  // Sorted by key, so that instances upserting the same rows lock them in the same order (no deadlock).
  const sortedKeys = <T>(map: Map<string, T>) => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
  if (hourly.size > 0) {
    await tx
      .insertInto('audit_usage_hourly')
      .values(sortedKeys(hourly))
      .onConflict((oc) =>
        oc.columns(['key_id', 'hour', 'route', 'status', 'error_code', 'scope_used']).doUpdateSet({ requests: sql`audit_usage_hourly.requests + excluded.requests` }),
      )
      .execute();
  }
  if (ips.size > 0) {
    await tx
      .insertInto('audit_ip_daily')
      .values(sortedKeys(ips))
      .onConflict((oc) =>
        oc.columns(['key_id', 'day', 'source_ip']).doUpdateSet({
          requests: sql`audit_ip_daily.requests + excluded.requests`,
          first_seen: sql`least(audit_ip_daily.first_seen, excluded.first_seen)`,
          last_seen: sql`greatest(audit_ip_daily.last_seen, excluded.last_seen)`,
        }),
      )
      .execute();
  }
}

/** Columns of audit_events and their types, for the one-statement batch insert below. */
const EVENT_COLUMNS = [
  ['id', 'text'],
  ['created_at', 'timestamptz'],
  ['workspace_id', 'text'],
  ['mode', 'text'],
  ['key_id', 'text'],
  ['key_name', 'text'],
  ['secret_id', 'text'],
  ['secret_version', 'int4'],
  ['method', 'text'],
  ['route', 'text'],
  ['path', 'text'],
  ['status', 'int4'],
  ['latency_ms', 'float4'],
  ['source_ip', 'text'],
  ['user_agent', 'text'],
  ['request_id', 'text'],
  ['error_code', 'text'],
  ['scope', 'text'],
  ['argument_hash', 'text'],
  ['upstream_ms', 'float4'],
] as const satisfies ReadonlyArray<readonly [keyof AuditEvent, string]>;

/**
 * A batch as one array per column, inserted with unnest(): one parameter per column instead of one per
 * value (500 events × 19 columns), which PGlite, running in this very process, binds several times faster.
 */
async function insertEvents(tx: Tx, events: readonly AuditEvent[]): Promise<void> {
  const columns = sql.join(EVENT_COLUMNS.map(([name]) => sql.ref(name)));
  const arrays = sql.join(EVENT_COLUMNS.map(([name, type]) => sql`${events.map((e) => e[name])}::${sql.raw(type)}[]`));
  await sql`insert into audit_events (${columns}) select * from unnest(${arrays})`.execute(tx);
}

async function insertPayloads(tx: Tx, events: readonly AuditEvent[]): Promise<void> {
  const withPayload = events.filter((e) => e.payload !== null);
  if (withPayload.length === 0) return;
  const ids = withPayload.map((e) => e.id);
  const times = withPayload.map((e) => e.created_at);
  const payloads = withPayload.map((e) => JSON.stringify(e.payload));
  await sql`
    insert into audit_payloads (event_id, created_at, payload)
    select * from unnest(${ids}::text[], ${times}::timestamptz[], ${payloads}::jsonb[])
  `.execute(tx);
}

const MINUTE_MS = 60_000;

/** Adds a batch's summarized calls to their (minute, source IP, error code) rows: one upsert. */
async function countUnattributed(tx: Tx, events: readonly AuditEvent[]): Promise<void> {
  const rows = new Map<string, { minute: Date; source_ip: string; error_code: string; requests: number; sample_path: string }>();
  for (const e of events) {
    const minute = new Date(Math.floor(e.created_at.getTime() / MINUTE_MS) * MINUTE_MS);
    const error_code = e.error_code ?? '';
    const key = [minute.getTime(), e.source_ip, error_code].join('\u0000');
    const row = rows.get(key);
    if (row) row.requests++;
    else rows.set(key, { minute, source_ip: e.source_ip, error_code, requests: 1, sample_path: `${e.method} ${e.path}`.slice(0, 512) });
  }
  // Sorted, as the rollups are, so that instances upserting the same rows lock them in the same order.
  const sorted = [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, row]) => row);
  await tx
    .insertInto('audit_unattributed')
    .values(sorted)
    .onConflict((oc) => oc.columns(['minute', 'source_ip', 'error_code']).doUpdateSet({ requests: sql`audit_unattributed.requests + excluded.requests` }))
    .execute();
}

async function writeBatch(db: Db, batch: readonly AuditEvent[]): Promise<void> {
  const events = batch.filter((e) => !e.summarized);
  const summarized = events.length === batch.length ? [] : batch.filter((e) => e.summarized);
  await db.transaction().execute(async (tx) => {
    if (events.length > 0) {
      await insertEvents(tx, events);
      await insertPayloads(tx, events);
      await writeRollups(tx, events);
    }
    if (summarized.length > 0) await countUnattributed(tx, summarized);
  });
}

/**
 * Whether the database refused the rows themselves (SQLSTATE classes 22, data exception, and 23, integrity
 * constraint violation) rather than being away or busy: writing the same batch again would fail forever.
 */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/** A batch the database refused while it was not all written: what is left to write. */
class UnwrittenError extends Error {
  constructor(
    readonly reason: unknown,
    readonly written: number,
    readonly unwritten: AuditEvent[],
  ) {
    super('audit batch not written');
  }
}

/**
 * Writes a batch; when the database refuses its rows (not its connection), halves it until the refused
 * events stand alone, writes the rest and hands those to `onRejected`: one bad event must not stop the
 * audit log for everyone (it would be retried, and refused, forever). Resolves with the events written.
 * On any other error it throws an UnwrittenError with the events not yet written.
 */
async function writeSplitting(db: Db, batch: AuditEvent[], onRejected: AuditWriterOptions['onRejected']): Promise<number> {
  const pending = [batch];
  let written = 0;
  while (pending.length > 0) {
    const chunk = pending.shift()!;
    try {
      await writeBatch(db, chunk);
      written += chunk.length;
    } catch (error) {
      if (!isDataError(error)) throw new UnwrittenError(error, written, chunk.concat(...pending));
      if (chunk.length === 1) onRejected?.(error, chunk[0]!);
      else pending.unshift(chunk.slice(0, chunk.length >> 1), chunk.slice(chunk.length >> 1));
    }
  }
  return written;
}

/**
 * The audit log is written off the request path: events wait in a bounded queue and are written in
 * batches, by size and by time, each batch in one transaction with its rollups. While the database is
 * away, events wait (bounded) and are written when it returns; if the bound is hit, the oldest are dropped
 * and that is reported, never silent. An event the database refuses for its content is left out and
 * reported, and the rest of its batch written. close() writes everything before the process exits.
 */
export function createAuditWriter(options: AuditWriterOptions): AuditWriter {
  const maxQueue = options.maxQueue ?? 100_000;
  const batchSize = options.batchSize ?? 500;
  let queue: AuditEvent[] = [];
  let running: Promise<void> | null = null;
  let failures = 0;
  let retryAt = 0;

  function dropOldest(): void {
    if (queue.length <= maxQueue) return;
    const dropped = queue.length - maxQueue;
    queue = queue.slice(dropped);
    options.onDropped?.(dropped);
  }

  async function drain(): Promise<void> {
    while (queue.length > 0 && Date.now() >= retryAt) {
      // The batch leaves the queue while it is written; events enqueued meanwhile go behind it.
      const batch = queue.slice(0, batchSize);
      queue = queue.slice(batch.length);
      try {
        const written = await writeSplitting(options.db, batch, options.onRejected);
        failures = 0;
        options.onWritten?.(written);
      } catch (thrown) {
        const { reason: error, written, unwritten } = thrown instanceof UnwrittenError ? thrown : { reason: thrown, written: 0, unwritten: batch };
        if (written > 0) options.onWritten?.(written);
        queue = unwritten.concat(queue);
        dropOldest();
        failures++;
        // Backs off 100 ms, 200 ms, … up to 5 s, so an outage is not hammered by every instance.
        retryAt = Date.now() + Math.min(5000, 100 * 2 ** Math.min(failures, 6));
        options.onWriteError?.(error, queue.length);
        return;
      }
    }
  }

  function flush(): Promise<void> {
    running ??= drain().finally(() => (running = null));
    return running;
  }

  const timer = setInterval(() => {
    if (queue.length > 0) void flush();
  }, options.flushIntervalMs ?? 200);
  timer.unref();

  return {
    enqueue(event) {
      queue.push(event);
      dropOldest();
      if (queue.length >= batchSize && !running) void flush();
    },
    flush,
    async close(timeoutMs = 30_000) {
      clearInterval(timer);
      const deadline = Date.now() + timeoutMs;
      while ((queue.length > 0 || running) && Date.now() < deadline) {
        if (running) await running;
        retryAt = Math.min(retryAt, Date.now() + 500);
        await flush();
        if (queue.length > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(500, retryAt - Date.now()))));
      }
      return { unwritten: queue.length };
    },
    get queued() {
      return queue.length;
    },
  };
}
