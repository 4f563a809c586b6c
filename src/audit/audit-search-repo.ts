import type { ExpressionBuilder, SelectQueryBuilder } from 'kysely';
import type { Executor } from '../db/client.js';
import type { AuditEventRow, Database } from '../db/schema.js';
import { timeOfId } from '../ids.js';

/** Filters of the audit log's search and export, already checked and parsed by the route. */
export interface AuditEventFilter {
  keyId?: string | undefined;
  /** An exact route pattern (`/api/v1/tickets/:id`), or a prefix of a route or path when `routePrefix`. */
  route?: string | undefined;
  routePrefix?: boolean | undefined;
  method?: string | undefined;
  /** Inclusive bounds: one code (429..429) or a class (400..499). */
  status?: { min: number; max: number } | undefined;
  errorCode?: string | undefined;
  sourceIp?: string | undefined;
  from?: Date | undefined;
  /** Exclusive. */
  to?: Date | undefined;
}

export interface ManagementEventFilter {
  action?: string | undefined;
  actorUserId?: string | undefined;
  actorEmail?: string | undefined;
  targetId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

/** Keyset paging: rows strictly older than `before` (an id), newest first. */
export interface Keyset {
  before?: string | undefined;
  limit: number;
}

export type AuditEventListRow = Omit<AuditEventRow, 'workspace_id' | 'secret_id'>;

export type ManagementEventRow = Awaited<ReturnType<ReturnType<typeof createAuditSearchRepo>['listManagementEvents']>>[number];

/**
 * An event's id and its created_at come from the same instant (audit-capture), so an id bounds the row's
 * partition. The slack only guards against a writer that ever takes the two from different reads of a clock.
 */
const ID_TIME_SLACK_MS = 60_000;

/** The LIKE pattern for "starts with": the prefix's own %, _ and \ match themselves. */
function startsWith(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** What a listed event shows, in order; the CSV export's columns too. */
export const EVENT_COLUMNS = [
  'id',
  'created_at',
  'mode',
  'key_id',
  'key_name',
  'secret_version',
  'method',
  'route',
  'path',
  'status',
  'latency_ms',
  'upstream_ms',
  'source_ip',
  'user_agent',
  'request_id',
  'error_code',
  'scope',
  'argument_hash',
] as const;

type EventQuery<O> = SelectQueryBuilder<Database, 'audit_events', O>;

function filterEvents<O>(query: EventQuery<O>, filter: AuditEventFilter): EventQuery<O> {
  let q = query;
  if (filter.keyId !== undefined) q = q.where('key_id', '=', filter.keyId);
  if (filter.route !== undefined) {
    const route = filter.route;
    q = filter.routePrefix
      ? q.where((eb: ExpressionBuilder<Database, 'audit_events'>) =>
          eb.or([eb('route', 'like', startsWith(route)), eb('path', 'like', startsWith(route))]),
        )
      : q.where('route', '=', route);
  }
  if (filter.method !== undefined) q = q.where('method', '=', filter.method);
  if (filter.status !== undefined) q = q.where('status', '>=', filter.status.min).where('status', '<=', filter.status.max);
  if (filter.errorCode !== undefined) q = q.where('error_code', '=', filter.errorCode);
  if (filter.sourceIp !== undefined) q = q.where('source_ip', '=', filter.sourceIp);
  if (filter.from !== undefined) q = q.where('created_at', '>=', filter.from);
  if (filter.to !== undefined) q = q.where('created_at', '<', filter.to);
  return q;
}

function afterCursor<O>(query: EventQuery<O>, before: string | undefined): EventQuery<O> {
  if (before === undefined) return query;
  const q = query.where('id', '<', before);
  // Older than the cursor's own instant: lets PostgreSQL skip the newer daily partitions.
  const at = timeOfId(before);
  return at ? q.where('created_at', '<=', new Date(at.getTime() + ID_TIME_SLACK_MS)) : q;
}

export function createAuditSearchRepo() {
  return {
    /** One page (or one export batch) of a workspace's events, newest first; ids sort by time. */
    listEvents(ex: Executor, workspaceId: string, filter: AuditEventFilter, keyset: Keyset): Promise<AuditEventListRow[]> {
      const base = ex.selectFrom('audit_events').select(EVENT_COLUMNS).where('workspace_id', '=', workspaceId);
      return afterCursor(filterEvents(base, filter), keyset.before).orderBy('id', 'desc').limit(keyset.limit).execute();
    },

    /** One event of one workspace; its id bounds the partitions searched. */
    findEvent(ex: Executor, workspaceId: string, eventId: string): Promise<AuditEventListRow | undefined> {
      const at = timeOfId(eventId);
      if (!at) return Promise.resolve(undefined);
      return ex
        .selectFrom('audit_events')
        .select(EVENT_COLUMNS)
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', eventId)
        .where('created_at', '>=', new Date(at.getTime() - ID_TIME_SLACK_MS))
        .where('created_at', '<=', new Date(at.getTime() + ID_TIME_SLACK_MS))
        .executeTakeFirst();
    },

    /** The redacted payload of an event already known to be the caller's, if it is still kept. */
    async findPayload(ex: Executor, event: { id: string; created_at: Date }): Promise<Record<string, unknown> | null> {
      const row = await ex
        .selectFrom('audit_payloads')
        .select('payload')
        .where('event_id', '=', event.id)
        // Its partition key: a range, because the event's time came back from the database at ms precision.
        .where('created_at', '>=', event.created_at)
        .where('created_at', '<', new Date(event.created_at.getTime() + 1))
        .executeTakeFirst();
      return row?.payload ?? null;
    },

    listManagementEvents(ex: Executor, workspaceId: string, filter: ManagementEventFilter, keyset: Keyset) {
      let q = ex
        .selectFrom('management_events')
        .select([
          'id',
          'created_at',
          'action',
          'actor_user_id',
          'actor_email',
          'actor_service_key_id',
          'actor_external_id',
          'on_behalf_of',
          'target_type',
          'target_id',
          'source_ip',
          'user_agent',
          'request_id',
          'details',
        ])
        .where('workspace_id', '=', workspaceId);
      if (filter.action !== undefined) q = q.where('action', '=', filter.action);
      if (filter.actorUserId !== undefined) q = q.where('actor_user_id', '=', filter.actorUserId);
      if (filter.actorEmail !== undefined) q = q.where('actor_email', '=', filter.actorEmail);
      if (filter.targetId !== undefined) q = q.where('target_id', '=', filter.targetId);
      if (filter.from !== undefined) q = q.where('created_at', '>=', filter.from);
      if (filter.to !== undefined) q = q.where('created_at', '<', filter.to);
      if (keyset.before !== undefined) q = q.where('id', '<', keyset.before);
      return q.orderBy('id', 'desc').limit(keyset.limit).execute();
    },
  };
}

export type AuditSearchRepo = ReturnType<typeof createAuditSearchRepo>;
