import { webhookUrlProblem } from '../api/webhook-url.js';
import { actorId, recordManagementEvent, type ActorContext, type ManagementAction } from '../audit/management-log.js';
import type { Db, Executor, Tx } from '../db/client.js';
import type { DeliveryStatus } from '../db/schema.js';
import { invalidRequest, notFound } from '../http/errors.js';
import { fetchSize, toPage, type Page, type PageRequest } from '../http/pagination.js';
import { newId } from '../ids.js';
import type { EndpointChanges, EndpointOwner, EndpointRow, EndpointsRepo } from './endpoints-repo.js';
import { presentDelivery, presentEndpoint, type DeliveryObject, type EndpointObject } from './endpoints-present.js';
import { ALL_EVENTS, EVENT_TYPES, PRODUCT_EVENT_TYPES } from './event-types.js';
import { emitTestEvent } from './outbox.js';
import { newEndpointSecret, SECRET_OVERLAP_MS } from './signing.js';

export interface EndpointsDeps {
  db: Db;
  repo: EndpointsRepo;
  now: () => Date;
  /** EVENTS_ALLOW_PRIVATE_NETWORKS: http and private hosts accepted (tests, private deployments). */
  allowPrivateNetworks: boolean;
}

/**
 * Who changes an endpoint: a person or a service key through the management API (recorded in the
 * management log), or an API key through the reference product's `/api/v1/webhooks` (the product's own
 * resource: not a management action).
 */
export type EndpointCaller = { context: ActorContext } | { apiKeyId: string };

export interface EndpointInput {
  url: string;
  events: string[];
  description?: string | null | undefined;
  enabled?: boolean | undefined;
}

export type EndpointUpdate = Partial<EndpointInput>;

export type EndpointWithSecret = EndpointObject & { secret: string };

export const MAX_DESCRIPTION = 500;

/** The message a test event carries, so a receiver's log says what it is. */
const TEST_MESSAGE = 'A test event sent from Latchkey: your endpoint is reachable and verifies signatures.';

/**
 * Endpoints of every audience through one set of rules (src/events/endpoints-repo.ts's EndpointOwner):
 * URL, event types, a secret shown once, rotation with an overlap, test events and the delivery log.
 */
export function createEndpointsService(deps: EndpointsDeps) {
  const { db, repo } = deps;

  function checkUrl(url: string): string {
    const problem = webhookUrlProblem(url, { httpsOnly: true, privateNetworks: deps.allowPrivateNetworks });
    if (problem) throw invalidRequest('url', `url ${problem}.`);
    return url;
  }

  /** Exactly `['*']` (every type, including later ones), or known types of the audience, each once. */
  function checkEvents(owner: EndpointOwner, events: readonly string[]): string[] {
    if (events.length === 0) throw invalidRequest('events', 'events must list at least one event type, or be ["*"] for all of them.');
    if (events.includes(ALL_EVENTS)) {
      if (events.length > 1) throw invalidRequest('events', 'events must be ["*"] alone, or a list of event types without "*".');
      return [ALL_EVENTS];
    }
    const known: readonly string[] = owner.audience === 'product' ? PRODUCT_EVENT_TYPES : EVENT_TYPES;
    const unknown = events.filter((type) => !known.includes(type));
    if (unknown.length > 0) {
      throw invalidRequest('events', `events names unknown event types (${unknown.slice(0, 5).join(', ')}); known types: ${known.join(', ')}, or ["*"].`);
    }
    return [...new Set(events)];
  }

  function checkDescription(description: string | null | undefined): string | null {
    if (description === undefined || description === null) return null;
    if (description.length > MAX_DESCRIPTION) throw invalidRequest('description', `description must be at most ${MAX_DESCRIPTION} characters.`);
    return description;
  }

  async function load(ex: Executor, owner: EndpointOwner, id: string, forUpdate = false): Promise<EndpointRow> {
    const row = await repo.find(ex, owner, id, { forUpdate });
    if (!row) throw notFound(owner.audience === 'product' ? 'webhook endpoint' : 'event endpoint');
    return row;
  }

  async function present(ex: Executor, row: EndpointRow): Promise<EndpointObject> {
    return presentEndpoint(row, await repo.signingSecrets(ex, [row.id], deps.now()));
  }

  /** What the management log keeps of an endpoint: no secret, and the URL without its query (it may hold a token). */
  function logged(row: Pick<EndpointRow, 'url' | 'events' | 'enabled'>): Record<string, unknown> {
    let url = row.url;
    try {
      const parsed = new URL(row.url);
      url = `${parsed.origin}${parsed.pathname}`;
    } catch {
      // Stored URLs were parsed when saved; keep what is there if that ever changes.
    }
    return { url, events: row.events, enabled: row.enabled };
  }

  async function record(tx: Tx, caller: EndpointCaller, owner: EndpointOwner, action: ManagementAction, endpointId: string, details: Record<string, unknown>): Promise<void> {
    if (!('context' in caller)) return;
    await recordManagementEvent(tx, caller.context, {
      workspaceId: owner.audience === 'installation' ? null : owner.workspaceId,
      action,
      target: { type: 'event_endpoint', id: endpointId },
      details: { audience: owner.audience, ...details },
    });
  }

  async function issueSecret(tx: Tx, endpointId: string, at: Date): Promise<string> {
    const secret = newEndpointSecret();
    await repo.insertSecret(tx, { id: newId('whs', at.getTime()), endpoint_id: endpointId, secret, created_at: at });
    return secret;
  }

  async function loadDelivery(ex: Executor, owner: EndpointOwner, endpointId: string, deliveryId: string) {
    await load(ex, owner, endpointId);
    const delivery = await repo.findDelivery(ex, endpointId, deliveryId);
    if (!delivery) throw notFound('delivery');
    return delivery;
  }

  return {
    async list(owner: EndpointOwner, page: PageRequest): Promise<Page<EndpointObject>> {
      const rows = await repo.list(db, owner, { limit: fetchSize(page), cursor: page.cursor });
      const secrets = await repo.signingSecrets(db, rows.slice(0, page.limit).map((row) => row.id), deps.now());
      return toPage(rows, page, (row) => presentEndpoint(row, secrets));
    },

    async get(owner: EndpointOwner, id: string): Promise<EndpointObject> {
      return present(db, await load(db, owner, id));
    },

    /** The secret is in this answer and nowhere else, ever. */
    async create(owner: EndpointOwner, input: EndpointInput, caller: EndpointCaller): Promise<EndpointWithSecret> {
      const url = checkUrl(input.url);
      const events = checkEvents(owner, input.events);
      const description = checkDescription(input.description);
      const at = deps.now();
      return db.transaction().execute(async (tx) => {
        const row = await repo.insert(tx, {
          // The reference product's webhooks keep the `whk_` ids its public API always had.
          id: newId(owner.audience === 'product' ? 'whk' : 'whe', at.getTime()),
          audience: owner.audience,
          workspace_id: owner.audience === 'installation' ? null : owner.workspaceId,
          mode: owner.audience === 'product' ? owner.mode : null,
          service_key_id: owner.audience === 'installation' && 'context' in caller && !caller.context.actor ? caller.context.serviceKey.id : null,
          url,
          events,
          description,
          enabled: input.enabled ?? true,
          disabled_at: null,
          disabled_reason: null,
          created_by: 'context' in caller ? actorId(caller.context) : caller.apiKeyId,
          created_at: at,
          updated_at: at,
        });
        const secret = await issueSecret(tx, row.id, at);
        await record(tx, caller, owner, 'event_endpoint.create', row.id, { ...logged(row), description });
        return { ...(await present(tx, row)), secret };
      });
    },

    /** `enabled: true` re-enables an endpoint the worker disabled, and clears why. */
    async update(owner: EndpointOwner, id: string, input: EndpointUpdate, caller: EndpointCaller): Promise<EndpointObject> {
      const changes: EndpointChanges = { updated_at: deps.now() };
      if (input.url !== undefined) changes.url = checkUrl(input.url);
      if (input.events !== undefined) changes.events = checkEvents(owner, input.events);
      if (input.description !== undefined) changes.description = checkDescription(input.description);
      if (input.enabled !== undefined) {
        changes.enabled = input.enabled;
        if (input.enabled) Object.assign(changes, { disabled_at: null, disabled_reason: null });
      }
      return db.transaction().execute(async (tx) => {
        const before = await load(tx, owner, id, true);
        const row = await repo.update(tx, id, changes);
        const changed = Object.keys(input).filter((field) => (input as Record<string, unknown>)[field] !== undefined);
        await record(tx, caller, owner, 'event_endpoint.update', id, { changed, ...logged(row), ...(before.enabled !== row.enabled ? { was_enabled: before.enabled } : {}) });
        return present(tx, row);
      });
    },

    /** The endpoint, its secrets and its deliveries (pending ones included) go together. */
    async remove(owner: EndpointOwner, id: string, caller: EndpointCaller): Promise<void> {
      await db.transaction().execute(async (tx) => {
        const row = await load(tx, owner, id, true);
        await repo.remove(tx, owner, id);
        await record(tx, caller, owner, 'event_endpoint.delete', id, logged(row));
      });
    },

    /**
     * A new secret signs from now on; the current one keeps signing beside it for SECRET_OVERLAP_MS, so
     * receivers have a day to switch. One still in an earlier overlap stops now: two secrets at most.
     */
    async rotateSecret(owner: EndpointOwner, id: string, caller: EndpointCaller): Promise<EndpointWithSecret> {
      return db.transaction().execute(async (tx) => {
        // The row lock makes two rotations of one endpoint take turns: each sees the other's secret.
        await load(tx, owner, id, true);
        const at = deps.now();
        const overlapEnd = new Date(at.getTime() + SECRET_OVERLAP_MS);
        for (const old of await repo.signingSecrets(tx, [id], at)) await repo.setSecretExpiry(tx, old.id, old.expires_at === null ? overlapEnd : at);
        const secret = await issueSecret(tx, id, at);
        const updated = await repo.update(tx, id, { updated_at: at });
        await record(tx, caller, owner, 'event_endpoint.rotate_secret', id, { previous_secret_expires_at: overlapEnd.toISOString() });
        return { ...(await present(tx, updated)), secret };
      });
    },

    /** A `latchkey.test` event to this endpoint only, sent by the worker like any other. */
    async sendTest(owner: EndpointOwner, id: string, caller: EndpointCaller): Promise<DeliveryObject> {
      return db.transaction().execute(async (tx) => {
        const row = await load(tx, owner, id);
        const at = deps.now();
        const { body, deliveryId } = await emitTestEvent(tx, { id, workspaceId: row.workspace_id, mode: row.mode }, { message: TEST_MESSAGE }, at);
        await record(tx, caller, owner, 'event_endpoint.test', id, { event_id: body.id, delivery_id: deliveryId });
        const delivery = await repo.findDelivery(tx, id, deliveryId);
        if (!delivery) throw new Error('the test delivery was just written');
        return presentDelivery(delivery);
      });
    },

    async listDeliveries(owner: EndpointOwner, id: string, filter: { status?: DeliveryStatus | undefined } & PageRequest): Promise<Page<DeliveryObject>> {
      await load(db, owner, id);
      const rows = await repo.listDeliveries(db, id, { status: filter.status, limit: fetchSize(filter), cursor: filter.cursor });
      const attempts = await repo.attempts(db, rows.slice(0, filter.limit).map((row) => row.id));
      return toPage(rows, filter, (row) => presentDelivery(row, attempts));
    },

    /** Due now: a pending one is tried at once, a delivered or failed one is sent again (the same body). */
    async retryDelivery(owner: EndpointOwner, id: string, deliveryId: string, caller: EndpointCaller): Promise<DeliveryObject> {
      return db.transaction().execute(async (tx) => {
        const before = await loadDelivery(tx, owner, id, deliveryId);
        await repo.requeueDelivery(tx, deliveryId, deps.now());
        await record(tx, caller, owner, 'event_endpoint.delivery_retry', id, { delivery_id: deliveryId, event_id: before.event_id, previous_status: before.status });
        const delivery = await repo.findDelivery(tx, id, deliveryId);
        if (!delivery) throw notFound('delivery');
        return presentDelivery(delivery, await repo.attempts(tx, [deliveryId]));
      });
    },
  };
}

export type EndpointsService = ReturnType<typeof createEndpointsService>;
