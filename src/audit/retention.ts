import { sql } from 'kysely';
import type { Db, Tx } from '../db/client.js';

export interface RetentionOptions {
  db: Db;
  now: () => Date;
  retentionDays: number;
  payloadDays: number;
}

/** What one run did; a run that found another instance at work did nothing and says so. */
export interface RetentionReport {
  skipped: boolean;
  created: string[];
  dropped: string[];
  /** Rows moved out of a default partition into the day partition created for them. */
  moved: number;
  /** Expired rows deleted from the default partitions, the rollups and the unattributed counts. */
  deleted: number;
}

export type PartitionedAuditTable = 'audit_events' | 'audit_payloads';

const DAY_MS = 86_400_000;

/** Today and this many days after it always have a partition, so a write never lands in the default one. */
export const DAYS_AHEAD = 2;

/** One number for "the audit retention job" among all advisory locks: 'lkar' in ASCII. */
const LOCK_KEY = 0x6c6b6172;

/** A run waits this long for a table lock at most, so a long export cannot queue every write behind it. */
const LOCK_TIMEOUT = '10s';

export function startOfUtcDay(date: Date): Date {
  return new Date(Math.floor(date.getTime() / DAY_MS) * DAY_MS);
}

export function partitionName(table: PartitionedAuditTable, day: Date): string {
  return `${table}_p${day.toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** The UTC day a partition named by partitionName holds, or null for any other name (the default one). */
export function partitionDay(table: PartitionedAuditTable, name: string): Date | null {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(name.startsWith(`${table}_p`) ? name.slice(table.length + 2) : '');
  if (!match) return null;
  const day = new Date(`${match[1]}-${match[2]}-${match[3]}T00:00:00.000Z`);
  return Number.isNaN(day.getTime()) || partitionName(table, day) !== name ? null : day;
}

/**
 * Rows created before this instant are expired. Day-aligned, so that a whole partition expires at once:
 * a row is kept at least `keepDays` and less than `keepDays + 1` (the API hides payloads at exactly 7 days).
 */
export function expiryCutoff(now: Date, keepDays: number): Date {
  return startOfUtcDay(new Date(now.getTime() - keepDays * DAY_MS));
}

export interface PartitionPlan {
  create: Date[];
  drop: string[];
}

/** Which day partitions to create and which to drop, from the names that exist. Never names the default one. */
export function planPartitions(table: PartitionedAuditTable, existing: readonly string[], now: Date, keepDays: number): PartitionPlan {
  const names = new Set(existing);
  const today = startOfUtcDay(now);
  const create: Date[] = [];
  for (let ahead = 0; ahead <= DAYS_AHEAD; ahead++) {
    const day = new Date(today.getTime() + ahead * DAY_MS);
    if (!names.has(partitionName(table, day))) create.push(day);
  }
  const cutoff = expiryCutoff(now, keepDays).getTime();
  const drop = existing.filter((name) => {
    const day = partitionDay(table, name);
    return day !== null && day.getTime() + DAY_MS <= cutoff;
  });
  return { create, drop: drop.sort() };
}

/**
 * Keeps the audit log's size bounded at a cost that does not grow with it: day partitions are created
 * ahead of time and whole expired ones dropped (payloads after `payloadDays`, events after
 * `retentionDays`); only the default partitions (rows whose day had no partition), the rollups and the
 * unattributed counts (audit_unattributed) are trimmed row by row, and they stay small. Idempotent, and safe with many instances running it at once:
 * each step holds a transaction-level advisory lock, and a run that cannot take it leaves the work to
 * the instance that has it. PGlite (PostgreSQL 18 in WebAssembly) runs all of it unchanged.
 */
export async function runRetention(options: RetentionOptions): Promise<void> {
  await retainAuditLog(options);
  // Fresh statistics keep keyset pages and exports on their index. PostgreSQL's autovacuum does this too;
  // PGlite has no autovacuum, and without statistics an export turns quadratic. It samples: cheap.
  await sql`analyze audit_events`.execute(options.db);
  await sql`analyze audit_payloads`.execute(options.db);
}

/** runRetention, with a report of what it did (for tests and tools). */
export async function retainAuditLog({ db, now, retentionDays, payloadDays }: RetentionOptions): Promise<RetentionReport> {
  const at = now();
  const report: RetentionReport = { skipped: false, created: [], dropped: [], moved: 0, deleted: 0 };
  // One table per transaction, events before payloads as the writer locks them: a short lock on one
  // table at a time, and no lock-order cycle with a writer's batch.
  const steps: Array<(tx: Tx) => Promise<void>> = [
    (tx) => maintainPartitions(tx, 'audit_events', at, retentionDays, report),
    (tx) => maintainPartitions(tx, 'audit_payloads', at, payloadDays, report),
    (tx) => trimRollups(tx, expiryCutoff(at, retentionDays), report),
  ];
  for (const step of steps) {
    const ran = await db.transaction().execute(async (tx) => {
      if (!(await tryLock(tx))) return false;
      await sql.raw(`set local lock_timeout = '${LOCK_TIMEOUT}'`).execute(tx);
      await step(tx);
      return true;
    });
    if (!ran) return { ...report, skipped: true };
  }
  return report;
}

async function tryLock(tx: Tx): Promise<boolean> {
  const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${LOCK_KEY}) as locked`.execute(tx);
  return rows[0]?.locked === true;
}

interface Partitions {
  names: string[];
  defaultName: string | null;
}

/** The table's partitions as the catalog has them (not as we remember creating them). */
async function listPartitions(tx: Tx, table: PartitionedAuditTable): Promise<Partitions> {
  const { rows } = await sql<{ name: string; is_default: boolean }>`
    select c.relname as name, c.oid = p.partdefid as is_default
    from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    join pg_partitioned_table p on p.partrelid = i.inhparent
    where i.inhparent = to_regclass(${table})`.execute(tx);
  return {
    names: rows.filter((r) => !r.is_default).map((r) => r.name),
    defaultName: rows.find((r) => r.is_default)?.name ?? null,
  };
}

async function maintainPartitions(tx: Tx, table: PartitionedAuditTable, now: Date, keepDays: number, report: RetentionReport): Promise<void> {
  const { names, defaultName } = await listPartitions(tx, table);
  const plan = planPartitions(table, names, now, keepDays);
  // Writers wait (readers do not) from here, so that no row lands in the default partition for a day
  // between our look at it and the partition's creation, which would then fail.
  if (plan.create.length > 0) await sql`lock table ${sql.id(table)} in share row exclusive mode`.execute(tx);
  for (const day of plan.create) {
    report.moved += await createPartition(tx, table, day, defaultName);
    report.created.push(partitionName(table, day));
  }
  for (const name of plan.drop) {
    await sql`drop table ${sql.id(name)}`.execute(tx);
    report.dropped.push(name);
  }
  if (defaultName) {
    const result = await sql`delete from ${sql.id(defaultName)} where created_at < ${expiryCutoff(now, keepDays)}`.execute(tx);
    report.deleted += Number(result.numAffectedRows ?? 0n);
  }
}

/**
 * Creates one day's partition; returns how many rows it took over from the default partition.
 * PostgreSQL refuses a new partition whose range has rows in the default one (they got there while the
 * day had no partition), so then the default partition is detached, the rows moved, and it is attached
 * again, all in this transaction: readers and writers wait on the table lock and never see a gap.
 */
async function createPartition(tx: Tx, table: PartitionedAuditTable, day: Date, defaultName: string | null): Promise<number> {
  const name = sql.id(partitionName(table, day));
  const from = day;
  const to = new Date(day.getTime() + DAY_MS);
  const create = sql`create table ${name} partition of ${sql.id(table)} for values from (${sql.lit(from.toISOString())}) to (${sql.lit(to.toISOString())})`;
  if (!defaultName) {
    await create.execute(tx);
    return 0;
  }
  const stranded = sql`from ${sql.id(defaultName)} where created_at >= ${from} and created_at < ${to}`;
  const { rows } = await sql<{ found: boolean }>`select exists (select 1 ${stranded}) as found`.execute(tx);
  if (rows[0]?.found !== true) {
    await create.execute(tx);
    return 0;
  }
  await sql`alter table ${sql.id(table)} detach partition ${sql.id(defaultName)}`.execute(tx);
  await create.execute(tx);
  const moved = await sql`insert into ${name} select * ${stranded}`.execute(tx);
  await sql`delete ${stranded}`.execute(tx);
  await sql`alter table ${sql.id(table)} attach partition ${sql.id(defaultName)} default`.execute(tx);
  return Number(moved.numAffectedRows ?? 0n);
}

async function trimRollups(tx: Tx, cutoff: Date, report: RetentionReport): Promise<void> {
  const hourly = await tx.deleteFrom('audit_usage_hourly').where('hour', '<', cutoff).executeTakeFirst();
  const daily = await tx.deleteFrom('audit_ip_daily').where('day', '<', cutoff.toISOString().slice(0, 10)).executeTakeFirst();
  const unattributed = await tx.deleteFrom('audit_unattributed').where('minute', '<', cutoff).executeTakeFirst();
  report.deleted += Number(hourly.numDeletedRows) + Number(daily.numDeletedRows) + Number(unattributed.numDeletedRows);
}
