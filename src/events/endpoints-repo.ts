import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../db/client.js';
import type { DeliveryStatus, EventEndpointsTable, Mode } from '../db/schema.js';

export type EndpointRow = Selectable<EventEndpointsTable>;

/**
 * Whose endpoints a call reaches: a workspace's own, the installation's (a service key with events:manage),
 * or the reference product's webhooks of one view. Every query below is narrowed to one owner, so another
 * owner's endpoint is simply not found (404).
 */
export type EndpointOwner =
  | { audience: 'workspace'; workspaceId: string }
  | { audience: 'installation' }
  | { audience: 'product'; workspaceId: string; mode: Mode };

export type EndpointChanges = Partial<Pick<EndpointRow, 'url' | 'events' | 'description' | 'enabled' | 'disabled_at' | 'disabled_reason'>> & { updated_at: Date };

export interface SecretRow {
  id: string;
  created_at: Date;
  expires_at: Date | null;
}

/** A delivery with its event's id, type and time, as the API lists it. */
export interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  event_created_at: Date;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
}

export interface AttemptRow {
  delivery_id: string;
  started_at: Date;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_excerpt: string | null;
}

function ownedBy(ex: Executor, owner: EndpointOwner) {
  let query = ex.selectFrom('event_endpoints').selectAll().where('audience', '=', owner.audience);
  if (owner.audience !== 'installation') query = query.where('workspace_id', '=', owner.workspaceId);
  if (owner.audience === 'product') query = query.where('mode', '=', owner.mode);
  return query;
}

function deliveries(ex: Executor) {
  return ex
    .selectFrom('event_deliveries as d')
    .innerJoin('events as e', 'e.id', 'd.event_id')
    .select([
      'd.id',
      'd.endpoint_id',
      'd.event_id',
      'e.type as event_type',
      'e.created_at as event_created_at',
      'd.status',
      'd.attempts',
      'd.next_attempt_at',
      'd.last_attempt_at',
      'd.last_status_code',
      'd.last_error',
      'd.delivered_at',
      'd.created_at',
    ]);
}

export function createEndpointsRepo() {
  return {
    async insert(ex: Executor, endpoint: Insertable<EventEndpointsTable>): Promise<EndpointRow> {
      return ex.insertInto('event_endpoints').values(endpoint).returningAll().executeTakeFirstOrThrow();
    },

    /** Newest first; `cursor` is the id of the last row of the previous page. */
    list(ex: Executor, owner: EndpointOwner, page: { limit: number; cursor?: string | undefined }): Promise<EndpointRow[]> {
      let query = ownedBy(ex, owner);
      if (page.cursor) query = query.where('id', '<', page.cursor);
      return query.orderBy('id', 'desc').limit(page.limit).execute();
    },

    find(ex: Executor, owner: EndpointOwner, id: string, options: { forUpdate?: boolean } = {}): Promise<EndpointRow | undefined> {
      let query = ownedBy(ex, owner).where('id', '=', id);
      if (options.forUpdate) query = query.forUpdate();
      return query.executeTakeFirst();
    },

    async update(ex: Executor, id: string, changes: EndpointChanges): Promise<EndpointRow> {
      return ex.updateTable('event_endpoints').set(changes).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    },

    async remove(ex: Executor, owner: EndpointOwner, id: string): Promise<boolean> {
      let query = ex.deleteFrom('event_endpoints').where('id', '=', id).where('audience', '=', owner.audience);
      if (owner.audience !== 'installation') query = query.where('workspace_id', '=', owner.workspaceId);
      if (owner.audience === 'product') query = query.where('mode', '=', owner.mode);
      return (await query.executeTakeFirst()).numDeletedRows > 0n;
    },

    async insertSecret(ex: Executor, secret: { id: string; endpoint_id: string; secret: string; created_at: Date }): Promise<void> {
      await ex.insertInto('event_endpoint_secrets').values({ ...secret, expires_at: null }).execute();
    },

    /** An endpoint's secrets that still sign (no end, or an end ahead), without the secrets themselves. */
    signingSecrets(ex: Executor, endpointIds: readonly string[], at: Date): Promise<Array<SecretRow & { endpoint_id: string }>> {
      if (endpointIds.length === 0) return Promise.resolve([]);
      return ex
        .selectFrom('event_endpoint_secrets')
        .select(['id', 'endpoint_id', 'created_at', 'expires_at'])
        .where('endpoint_id', 'in', endpointIds)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', at)]))
        .orderBy('created_at')
        .orderBy('id')
        .execute();
    },

    async setSecretExpiry(ex: Executor, id: string, at: Date): Promise<void> {
      await ex.updateTable('event_endpoint_secrets').set({ expires_at: at }).where('id', '=', id).execute();
    },

    /** Newest first; `cursor` is the id of the last row of the previous page. */
    listDeliveries(ex: Executor, endpointId: string, filter: { status?: DeliveryStatus | undefined; limit: number; cursor?: string | undefined }): Promise<DeliveryRow[]> {
      let query = deliveries(ex).where('d.endpoint_id', '=', endpointId);
      if (filter.status) query = query.where('d.status', '=', filter.status);
      if (filter.cursor) query = query.where('d.id', '<', filter.cursor);
      return query.orderBy('d.id', 'desc').limit(filter.limit).execute();
    },

    findDelivery(ex: Executor, endpointId: string, id: string): Promise<DeliveryRow | undefined> {
      return deliveries(ex).where('d.endpoint_id', '=', endpointId).where('d.id', '=', id).executeTakeFirst();
    },

    /**
     * Due now, whatever it was: a delivered or failed delivery is sent again. A delivery whose attempt is
     * running (pending, leased into the future) is moved to now too; at least once allows the repeat.
     */
    async requeueDelivery(ex: Executor, id: string, at: Date): Promise<void> {
      await ex.updateTable('event_deliveries').set({ status: 'pending', next_attempt_at: at, delivered_at: null }).where('id', '=', id).execute();
    },

    /** Each delivery's attempts, oldest first. */
    attempts(ex: Executor, deliveryIds: readonly string[]): Promise<AttemptRow[]> {
      if (deliveryIds.length === 0) return Promise.resolve([]);
      return ex
        .selectFrom('event_delivery_attempts')
        .select(['delivery_id', 'started_at', 'duration_ms', 'status_code', 'error', 'response_excerpt'])
        .where('delivery_id', 'in', deliveryIds)
        .orderBy('started_at')
        .orderBy('id')
        .execute();
    },

  };
}

export type EndpointsRepo = ReturnType<typeof createEndpointsRepo>;

