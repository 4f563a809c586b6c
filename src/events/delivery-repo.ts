import { sql } from 'kysely';
import { recordManagementEvent, type ActionContext } from '../audit/management-log.js';
import type { Db, Tx } from '../db/client.js';
import { newId } from '../ids.js';

/** A delivery this instance holds the lease of, with what it needs to send it. */
export interface ClaimedDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  body: string;
  /** The attempt this claim is (1 for the first); the lease's token: a later claim of the row has another. */
  attempts: number;
  createdAt: Date;
  url: string;
  enabled: boolean;
  /** The endpoint's secrets that still sign, newest first. */
  secrets: string[];
}

export interface AttemptRecord {
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  excerpt: string | null;
}

export type Outcome = { status: 'delivered' } | { status: 'pending'; nextAttemptAt: Date } | { status: 'failed' };

/** The delivery worker has no person behind it: its management events say `system`. */
const WORKER_CONTEXT: ActionContext = { actor: null, sourceIp: 'system', userAgent: 'latchkey-delivery-worker', requestId: 'delivery-worker' };

/**
 * Claims up to `limit` due deliveries in one statement: rows another instance holds are skipped (SKIP
 * LOCKED), and each claimed row's next_attempt_at moves to the lease's end, so a crash mid-attempt leaves
 * it to be claimed again once the lease is over (at least once), and no instance claims it meanwhile.
 */
export async function claimDue(db: Db, now: Date, leaseMs: number, limit: number): Promise<ClaimedDelivery[]> {
  const leaseEnd = new Date(now.getTime() + leaseMs);
  const { rows } = await sql<{
    id: string;
    event_id: string;
    endpoint_id: string;
    attempts: number;
    created_at: Date | string;
    type: string;
    body: string;
    url: string;
    enabled: boolean;
  }>`
    with claimed as (
      update event_deliveries set next_attempt_at = ${leaseEnd}, attempts = attempts + 1
      where id in (
        select id from event_deliveries where status = 'pending' and next_attempt_at <= ${now}
        order by next_attempt_at limit ${limit} for update skip locked
      )
      returning id, event_id, endpoint_id, attempts, created_at
    )
    select c.id, c.event_id, c.endpoint_id, c.attempts, c.created_at, e.type, e.body, ep.url, ep.enabled
    from claimed c join events e on e.id = c.event_id join event_endpoints ep on ep.id = c.endpoint_id
  `.execute(db);
  if (rows.length === 0) return [];
  const endpointIds = [...new Set(rows.map((row) => row.endpoint_id))];
  const secrets = await db
    .selectFrom('event_endpoint_secrets')
    .select(['endpoint_id', 'secret'])
    .where('endpoint_id', 'in', endpointIds)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    eventType: row.type,
    body: row.body,
    attempts: Number(row.attempts),
    createdAt: new Date(row.created_at),
    url: row.url,
    enabled: row.enabled,
    secrets: secrets.filter((secret) => secret.endpoint_id === row.endpoint_id).map((secret) => secret.secret),
  }));
}

/**
 * Records an attempt and its outcome, if this claim still holds the row (same attempt count, still
 * pending: not deleted with its endpoint, not claimed again). When the delivery has failed for good and
 * the endpoint delivered nothing since the delivery was created, the endpoint is disabled. Returns
 * whether the endpoint was disabled now.
 */
export async function finishAttempt(db: Db, delivery: ClaimedDelivery, attempt: AttemptRecord, outcome: Outcome, now: Date): Promise<{ disabled: boolean }> {
  // Delivered or tried again later: one statement (one round trip), the attempt written only if the row was still ours.
  if (outcome.status !== 'failed') {
    await sql`
      with updated as (
        update event_deliveries set
          status = ${outcome.status},
          last_attempt_at = ${attempt.startedAt},
          last_status_code = ${attempt.statusCode},
          last_error = ${attempt.error},
          delivered_at = ${outcome.status === 'delivered' ? now : null},
          next_attempt_at = ${outcome.status === 'pending' ? outcome.nextAttemptAt : sql`next_attempt_at`}
        where id = ${delivery.id} and attempts = ${delivery.attempts} and status = 'pending'
        returning id
      )
      insert into event_delivery_attempts (id, delivery_id, started_at, duration_ms, status_code, error, response_excerpt)
      select ${newId('eva', attempt.startedAt.getTime())}, id, ${attempt.startedAt}, ${attempt.durationMs}, ${attempt.statusCode}, ${attempt.error}, ${attempt.excerpt}
      from updated
    `.execute(db);
    return { disabled: false };
  }
  return db.transaction().execute(async (tx) => {
    const updated = await tx
      .updateTable('event_deliveries')
      .set({ status: 'failed', last_attempt_at: attempt.startedAt, last_status_code: attempt.statusCode, last_error: attempt.error })
      .where('id', '=', delivery.id)
      .where('attempts', '=', delivery.attempts)
      .where('status', '=', 'pending')
      .returning('id')
      .executeTakeFirst();
    if (!updated) return { disabled: false };
    await tx
      .insertInto('event_delivery_attempts')
      .values({
        id: newId('eva', attempt.startedAt.getTime()),
        delivery_id: delivery.id,
        started_at: attempt.startedAt,
        duration_ms: attempt.durationMs,
        status_code: attempt.statusCode,
        error: attempt.error,
        response_excerpt: attempt.excerpt,
      })
      .execute();
    return { disabled: await disableIfAllFailed(tx, delivery, attempt.error, now) };
  });
}

/** Disables the endpoint when no delivery to it succeeded since `delivery` was created, with a management event. */
async function disableIfAllFailed(tx: Tx, delivery: ClaimedDelivery, lastError: string | null, now: Date): Promise<boolean> {
  const reason = `Every delivery failed for 3 days; last error: ${lastError ?? 'unknown'}`.slice(0, 500);
  const disabled = await tx
    .updateTable('event_endpoints')
    .set({ enabled: false, disabled_at: now, disabled_reason: reason, updated_at: now })
    .where('id', '=', delivery.endpointId)
    .where('enabled', '=', true)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('event_deliveries')
            .select('id')
            .where('endpoint_id', '=', delivery.endpointId)
            .where('status', '=', 'delivered')
            .where('delivered_at', '>=', delivery.createdAt),
        ),
      ),
    )
    .returning(['id', 'workspace_id', 'url'])
    .executeTakeFirst();
  if (!disabled) return false;
  await recordManagementEvent(tx, WORKER_CONTEXT, {
    workspaceId: disabled.workspace_id,
    action: 'event_endpoint.disabled',
    target: { type: 'event_endpoint', id: disabled.id },
    details: { reason, delivery_id: delivery.id },
  });
  return true;
}

/**
 * A claimed delivery whose endpoint is disabled is not sent: it is marked failed ("not sent"), without an
 * attempt (the claim's count is undone). The endpoint's deliveries API can send it again once re-enabled.
 */
export async function skipDisabled(db: Db, delivery: ClaimedDelivery): Promise<void> {
  await db
    .updateTable('event_deliveries')
    .set({ status: 'failed', attempts: delivery.attempts - 1, last_error: 'not sent: the endpoint is disabled' })
    .where('id', '=', delivery.id)
    .where('attempts', '=', delivery.attempts)
    .where('status', '=', 'pending')
    .execute();
}

/** Deliveries due now that no instance holds: the backlog. */
export async function countDue(db: Db, now: Date): Promise<number> {
  const row = await db
    .selectFrom('event_deliveries')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
