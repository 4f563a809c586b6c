import type { FastifyBaseLogger } from 'fastify';
import { sql, type Expression, type SqlBool } from 'kysely';
import { withAdvisoryLock } from '../db/advisory-lock.js';
import type { Db, Executor } from '../db/client.js';
import { presentKey } from '../keys/keys-present.js';
import { createKeysRepo, keysWithCreator, type KeyWithCreator } from '../keys/keys-repo.js';
import type { ScopeCatalog } from '../keys/key-settings.js';
import { emitEvent } from './outbox.js';

/** One number for "the key lifecycle sweep" among all advisory locks: 'lkls' in ASCII. */
export const SWEEP_LOCK_KEY = 0x6c6b6c73;
/** Hourly: each reminder goes once per key (key_reminders), so a sweep finds only what became due since. */
export const SWEEP_INTERVAL_MS = 3_600_000;
/** The first sweep a minute after start, so that an instance restarted more often than hourly still sweeps. */
export const SWEEP_FIRST_DELAY_MS = 60_000;

const DAY_MS = 86_400_000;
export const EXPIRING_SOON_DAYS = 7;
export const EXPIRING_VERY_SOON_DAYS = 1;
/** The default of the workspace rotation policy to come: a key's current secret older than this is due for rotation. */
export const DEFAULT_ROTATION_DAYS = 90;
/** A key never used this long after it was made, or not used for this long since, is unused. */
export const UNUSED_DAYS = 30;
/** Keys per transaction, and transactions per kind and sweep: 100,000 due keys never make one giant transaction. */
export const SWEEP_BATCH = 500;
export const SWEEP_MAX_BATCHES = 40;

export type ReminderKind = 'expired' | 'expiring_1d' | 'expiring_7d' | 'rotation_due' | 'unused';

export interface SweepDeps {
  db: Db;
  now: () => Date;
  catalog: ScopeCatalog;
}

export interface SweepReport {
  /** False when another instance held the lock: it sweeps. */
  ran: boolean;
  /** Events sent per kind. */
  sent: Record<ReminderKind, number>;
}

interface Reminder {
  kind: ReminderKind;
  type: 'api_key.expired' | 'api_key.expiring' | 'api_key.rotation_due' | 'api_key.unused';
  /** The active keys that are due and not yet reminded of this kind. */
  due: (now: Date) => Expression<SqlBool>;
  /** What the event says besides the key. */
  data: (key: KeyWithCreator, now: Date, currentSecretAt: Date | null) => Record<string, unknown>;
  /** Kinds a reminder makes moot: a key told it expires within a day need not be told it expires within a week. */
  alsoMarks?: ReminderKind[];
}

const ago = (now: Date, days: number) => new Date(now.getTime() - days * DAY_MS);
const ahead = (now: Date, days: number) => new Date(now.getTime() + days * DAY_MS);
const iso = (date: Date | null) => date?.toISOString() ?? null;
/** When the key's current secret (its newest usable version) was made. */
const currentSecretAt = sql<Date | null>`(select max(s.created_at) from api_key_secrets s where s.key_id = api_keys.id and s.revoked_at is null)`;

/** The most urgent first, so that one sweep sends a key expiring in 12 hours the 1-day reminder and not the 7-day one. */
const REMINDERS: Reminder[] = [
  {
    kind: 'expired',
    type: 'api_key.expired',
    due: (now) => sql<SqlBool>`api_keys.expires_at <= ${now}`,
    data: (key) => ({ expired_at: iso(key.expires_at) }),
  },
  {
    kind: 'expiring_1d',
    type: 'api_key.expiring',
    due: (now) => sql<SqlBool>`api_keys.expires_at > ${now} and api_keys.expires_at <= ${ahead(now, EXPIRING_VERY_SOON_DAYS)}`,
    data: (key) => ({ expires_at: iso(key.expires_at), within_days: EXPIRING_VERY_SOON_DAYS }),
    alsoMarks: ['expiring_7d'],
  },
  {
    kind: 'expiring_7d',
    type: 'api_key.expiring',
    due: (now) => sql<SqlBool>`api_keys.expires_at > ${now} and api_keys.expires_at <= ${ahead(now, EXPIRING_SOON_DAYS)}`,
    data: (key) => ({ expires_at: iso(key.expires_at), within_days: EXPIRING_SOON_DAYS }),
  },
  {
    kind: 'rotation_due',
    type: 'api_key.rotation_due',
    due: (now) => sql<SqlBool>`${notExpired(now)} and ${currentSecretAt} <= ${ago(now, DEFAULT_ROTATION_DAYS)}`,
    data: (_key, now, secretAt) => ({
      current_secret_created_at: iso(secretAt),
      secret_age_days: secretAt ? Math.floor((now.getTime() - secretAt.getTime()) / DAY_MS) : null,
      rotation_days: DEFAULT_ROTATION_DAYS,
    }),
  },
  {
    kind: 'unused',
    type: 'api_key.unused',
    due: (now) =>
      sql<SqlBool>`${notExpired(now)} and coalesce(api_keys.last_used_at, api_keys.created_at) <= ${ago(now, UNUSED_DAYS)}`,
    data: (key) => ({ last_used_at: iso(key.last_used_at), unused_days: UNUSED_DAYS }),
  },
];

function notExpired(now: Date) {
  return sql<SqlBool>`(api_keys.expires_at is null or api_keys.expires_at > ${now})`;
}

/**
 * Reminders whose condition no longer holds are taken back, so they can be sent again when it next does:
 * a key given a later end, rotated, or used again since.
 */
async function rearm(ex: Executor, now: Date): Promise<void> {
  await sql`
    delete from key_reminders r using api_keys k
    where r.api_key_id = k.id and (
      (r.kind = 'expired' and (k.expires_at is null or k.expires_at > ${now}))
      or (r.kind = 'expiring_1d' and (k.expires_at is null or k.expires_at > ${ahead(now, EXPIRING_VERY_SOON_DAYS)}))
      or (r.kind = 'expiring_7d' and (k.expires_at is null or k.expires_at > ${ahead(now, EXPIRING_SOON_DAYS)}))
      or (r.kind = 'rotation_due' and (select max(s.created_at) from api_key_secrets s where s.key_id = k.id and s.revoked_at is null) > r.sent_at)
      or (r.kind = 'unused' and k.last_used_at > r.sent_at)
    )`.execute(ex);
}

/**
 * One sweep: for each kind, the active keys that are due and not yet reminded, a batch per transaction,
 * each reminder written to key_reminders (on conflict nothing) with its event, sent only when the row
 * was written. Idempotent: a second sweep, or a twin racing this one, sends nothing more.
 */
export async function runSweepOnce(deps: SweepDeps, options: { wait?: boolean } = {}): Promise<SweepReport> {
  const keys = createKeysRepo();
  const sent: Record<ReminderKind, number> = { expired: 0, expiring_1d: 0, expiring_7d: 0, rotation_due: 0, unused: 0 };
  const result = await withAdvisoryLock(
    deps.db,
    SWEEP_LOCK_KEY,
    async (connection) => {
      const now = deps.now();
      await rearm(connection, now);
      for (const reminder of REMINDERS) {
        for (let batch = 0; batch < SWEEP_MAX_BATCHES; batch++) {
          const due = await keysWithCreator(connection)
            .select(currentSecretAt.as('current_secret_at'))
            .where('api_keys.revoked_at', 'is', null)
            .where(reminder.due(now))
            .where(({ not, exists, selectFrom }) =>
              not(exists(selectFrom('key_reminders').select('api_key_id').whereRef('key_reminders.api_key_id', '=', 'api_keys.id').where('key_reminders.kind', '=', reminder.kind))),
            )
            .orderBy('api_keys.id')
            .limit(SWEEP_BATCH)
            .execute();
          if (due.length === 0) break;
          await connection.transaction().execute(async (tx) => {
            const secrets = await keys.listSecrets(tx, due.map((k) => k.id));
            for (const key of due) {
              const written = await tx
                .insertInto('key_reminders')
                .values({ api_key_id: key.id, kind: reminder.kind, sent_at: now })
                .onConflict((oc) => oc.columns(['api_key_id', 'kind']).doNothing())
                .returning('kind')
                .executeTakeFirst();
              if (!written) continue;
              for (const kind of reminder.alsoMarks ?? []) {
                await tx.insertInto('key_reminders').values({ api_key_id: key.id, kind, sent_at: now }).onConflict((oc) => oc.columns(['api_key_id', 'kind']).doNothing()).execute();
              }
              const secretAt = key.current_secret_at === null ? null : new Date(key.current_secret_at);
              await emitEvent(tx, {
                type: reminder.type,
                workspaceId: key.workspace_id,
                data: { object: presentKey(key, secrets, now, deps.catalog), ...reminder.data(key, now, secretAt) },
              });
              sent[reminder.kind]++;
            }
          });
          if (due.length < SWEEP_BATCH) break;
        }
      }
    },
    { wait: options.wait === true },
  );
  return { ran: result.ran, sent };
}

/** The sweep on this instance: a minute after start, then hourly, on one instance at a time. */
export function startLifecycleSweep(deps: SweepDeps & { log: FastifyBaseLogger }): { close(): Promise<void> } {
  let current: Promise<void> | null = null;
  const sweep = () => {
    current ??= runSweepOnce(deps)
      .then((report) => {
        const total = Object.values(report.sent).reduce((a, b) => a + b, 0);
        if (total > 0) deps.log.info({ sent: report.sent }, 'key lifecycle events sent');
      })
      .catch((error: unknown) => deps.log.error({ err: error }, 'key lifecycle sweep failed; the next one tries again'))
      .finally(() => (current = null));
  };
  const first = setTimeout(sweep, SWEEP_FIRST_DELAY_MS);
  const timer = setInterval(sweep, SWEEP_INTERVAL_MS);
  first.unref();
  timer.unref();
  return {
    close: async () => {
      clearTimeout(first);
      clearInterval(timer);
      await current;
    },
  };
}
