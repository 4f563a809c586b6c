import { sql } from 'kysely';
import type { Executor } from '../db/client.js';
import type { Mode } from '../db/schema.js';
import { newId } from '../ids.js';
import { ALL_EVENTS, PRODUCT_EVENT_TYPES, TEST_EVENT_TYPE, type EventBody, type EventType, type ProductEventType } from './event-types.js';

export interface EventInput {
  type: EventType | ProductEventType;
  /** null: an installation-wide event (none yet); every event of a workspace names it. */
  workspaceId: string | null;
  /** The reference product's view, for its own events. */
  mode?: Mode;
  data: Record<string, unknown>;
}

const PRODUCT_TYPES = new Set<string>(PRODUCT_EVENT_TYPES);

/**
 * Writes an event to the outbox and one delivery per endpoint that wants it, with `ex` the transaction of
 * the change that causes it: both commit together or not at all. Latchkey's own events go to the
 * workspace's endpoints and to the installation's; the reference product's to its webhooks in that view.
 * Returns the event's body (never a secret: callers pass what the API would show).
 */
export async function emitEvent(ex: Executor, event: EventInput, at: Date = new Date()): Promise<EventBody> {
  const workspace = event.workspaceId
    ? await ex.selectFrom('workspaces').select(['id', 'external_id']).where('id', '=', event.workspaceId).executeTakeFirst()
    : undefined;
  const body: EventBody = {
    id: newId('evt', at.getTime()),
    type: event.type,
    created_at: at.toISOString(),
    workspace: workspace ? { id: workspace.id, external_id: workspace.external_id } : null,
    ...(event.mode ? { mode: event.mode } : {}),
    data: event.data,
  };
  await ex
    .insertInto('events')
    .values({ id: body.id, type: body.type, workspace_id: workspace?.id ?? null, mode: event.mode ?? null, body: JSON.stringify(body), created_at: at })
    .execute();
  const endpoints = await matchingEndpoints(ex, event, workspace?.id ?? null);
  if (endpoints.length > 0) {
    await ex
      .insertInto('event_deliveries')
      .values(endpoints.map((endpointId) => ({ id: newId('evd', at.getTime()), event_id: body.id, endpoint_id: endpointId, next_attempt_at: at, created_at: at })))
      .execute();
  }
  return body;
}

/** The enabled endpoints subscribed to the event's type (or to `*`) that its audience reaches. */
async function matchingEndpoints(ex: Executor, event: EventInput, workspaceId: string | null): Promise<string[]> {
  let query = ex
    .selectFrom('event_endpoints')
    .select('id')
    .where('enabled', '=', true)
    .where(sql<boolean>`(${event.type} = any(events) or ${ALL_EVENTS} = any(events))`);
  if (PRODUCT_TYPES.has(event.type)) {
    if (!workspaceId || !event.mode) return [];
    query = query.where('audience', '=', 'product').where('workspace_id', '=', workspaceId).where('mode', '=', event.mode);
  } else {
    query = query.where((eb) =>
      eb.or([eb('audience', '=', 'installation'), ...(workspaceId ? [eb.and([eb('audience', '=', 'workspace'), eb('workspace_id', '=', workspaceId)])] : [])]),
    );
  }
  return (await query.orderBy('id').execute()).map((row) => row.id);
}

/**
 * "Send a test event": a `latchkey.test` event delivered to one endpoint only, whatever it subscribes to
 * (no endpoint subscribes to the test type). Written like any event, so the worker sends, signs and
 * retries it the same way. Returns the delivery's id.
 */
export async function emitTestEvent(
  ex: Executor,
  endpoint: { id: string; workspaceId: string | null; mode?: Mode | null },
  data: Record<string, unknown>,
  at: Date = new Date(),
): Promise<{ body: EventBody; deliveryId: string }> {
  const workspace = endpoint.workspaceId
    ? await ex.selectFrom('workspaces').select(['id', 'external_id']).where('id', '=', endpoint.workspaceId).executeTakeFirst()
    : undefined;
  const body: EventBody = {
    id: newId('evt', at.getTime()),
    type: TEST_EVENT_TYPE,
    created_at: at.toISOString(),
    workspace: workspace ? { id: workspace.id, external_id: workspace.external_id } : null,
    ...(endpoint.mode ? { mode: endpoint.mode } : {}),
    data,
  };
  const deliveryId = newId('evd', at.getTime());
  await ex
    .insertInto('events')
    .values({ id: body.id, type: body.type, workspace_id: workspace?.id ?? null, mode: endpoint.mode ?? null, body: JSON.stringify(body), created_at: at })
    .execute();
  await ex.insertInto('event_deliveries').values({ id: deliveryId, event_id: body.id, endpoint_id: endpoint.id, next_attempt_at: at, created_at: at }).execute();
  return { body, deliveryId };
}
