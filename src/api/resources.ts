import type { z } from 'zod';
import type { ProductEventType } from '../events/event-types.js';
import type { IdPrefix } from '../ids.js';
import type { ReferenceScope as Scope } from '../product/reference-product.js';
import * as schemas from './resource-schemas.js';

type Body = z.ZodType<Record<string, unknown>>;

/**
 * How a resource is created: `insert` stores the validated body as it is; `upsert` (contacts) finds the
 * contact by email or external_id first; `ingest` (conversations) stores a transcript and its traces.
 */
export type Create =
  | { mode: 'insert'; body: Body }
  | { mode: 'upsert'; body: typeof schemas.contactUpsert }
  | { mode: 'ingest'; body: typeof schemas.conversationIngest };

/**
 * One resource of the reference product API. The routes, their scopes and the OpenAPI summaries are all
 * generated from these specs (src/api/api-routes.ts), so nine resources need one generic service.
 */
export interface ResourceSpec {
  /** The path segment under /api/v1 and the OpenAPI tag. */
  path: string;
  /** The `object` field of its JSON, also the `kind` it is stored under. */
  object: string;
  /** A person's words for one and for several, in summaries and 404 messages. */
  noun: string;
  plural: string;
  prefix: IdPrefix;
  readScope: Scope;
  /** Absent for read-only resources. */
  write?: { scope: Scope; create?: Create; update?: Body; remove?: boolean };
  /** Fields that hold the id of another object of the same view, and its kind: refused when it does not exist. */
  references?: Record<string, string>;
  /** The events its writes send to the view's webhooks, in the write's transaction. */
  emits?: { created?: ProductEventType; updated?: ProductEventType };
  /**
   * Where its objects live: api_records (the default), or event_endpoints for the webhooks, which the
   * delivery engine reads (one source of truth for where the product's events go).
   */
  store?: 'records' | 'event_endpoints';
}

export const CONVERSATIONS: ResourceSpec = {
  path: 'conversations',
  object: 'conversation',
  noun: 'conversation', plural: 'conversations',
  prefix: 'conv',
  readScope: 'conversations:read',
  write: { scope: 'conversations:write', create: { mode: 'ingest', body: schemas.conversationIngest } },
};

export const CONTACTS: ResourceSpec = {
  path: 'contacts',
  object: 'contact',
  noun: 'contact', plural: 'contacts',
  prefix: 'cont',
  readScope: 'contacts:read',
  write: { scope: 'contacts:write', create: { mode: 'upsert', body: schemas.contactUpsert } },
  references: { account_id: 'account' },
};

/** Every resource, in the order of PRODUCT.md's scope catalog. */
export const RESOURCES: readonly ResourceSpec[] = [
  CONVERSATIONS,
  CONTACTS,
  {
    path: 'tickets',
    object: 'ticket',
    noun: 'ticket', plural: 'tickets',
    prefix: 'tkt',
    readScope: 'tickets:read',
    write: { scope: 'tickets:write', create: { mode: 'insert', body: schemas.ticketCreate }, update: schemas.ticketUpdate },
    references: { contact_id: 'contact', conversation_id: 'conversation', assignee_agent_id: 'agent' },
    emits: { created: 'ticket.created', updated: 'ticket.updated' },
  },
  // Scorecards and agents are read-only: the product fills them (here, the demo data).
  { path: 'scorecards', object: 'scorecard', noun: 'scorecard', plural: 'scorecards', prefix: 'scr', readScope: 'scorecards:read' },
  { path: 'agents', object: 'agent', noun: 'agent', plural: 'agents', prefix: 'agt', readScope: 'agents:read' },
  {
    path: 'webhooks',
    object: 'webhook_endpoint',
    noun: 'webhook endpoint', plural: 'webhook endpoints',
    prefix: 'whk',
    readScope: 'webhooks:manage',
    write: { scope: 'webhooks:manage', create: { mode: 'insert', body: schemas.webhookCreate }, update: schemas.webhookUpdate, remove: true },
    store: 'event_endpoints',
  },
  {
    path: 'knowledge_base',
    object: 'knowledge_base_entry',
    noun: 'knowledge base entry', plural: 'knowledge base entries',
    prefix: 'kb',
    readScope: 'knowledge_base:read',
    write: { scope: 'knowledge_base:write', create: { mode: 'insert', body: schemas.knowledgeBaseCreate }, update: schemas.knowledgeBaseUpdate, remove: true },
  },
  {
    path: 'accounts',
    object: 'account',
    noun: 'account', plural: 'accounts',
    prefix: 'acct',
    readScope: 'accounts:read',
    write: { scope: 'accounts:write', create: { mode: 'insert', body: schemas.accountCreate }, update: schemas.accountUpdate, remove: true },
  },
  {
    path: 'policies',
    object: 'policy',
    noun: 'policy', plural: 'policies',
    prefix: 'pol',
    readScope: 'policies:read',
    write: { scope: 'policies:write', create: { mode: 'insert', body: schemas.policyCreate }, update: schemas.policyUpdate, remove: true },
  },
];

/** A conversation's traces: one per message of the ingested transcript (see records-service ingest). */
export const TRACE_OBJECT = 'trace';

export type Operation = 'list' | 'get' | 'create' | 'update' | 'delete' | 'list_traces';

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Fastify's form: `/api/v1/tickets/:id`. */
  url: string;
  scope: Scope;
  operation: Operation;
  summary: string;
}

/** The routes of one resource: what the plugin registers and what a scope-matrix test iterates. */
export function routesOf(spec: ResourceSpec): ApiRoute[] {
  const one = `${/^[aeiou]/.test(spec.noun) ? 'an' : 'a'} ${spec.noun}`;
  const base = `/api/v1/${spec.path}`;
  const item = `${base}/:id`;
  const routes: ApiRoute[] = [
    { method: 'GET', url: base, scope: spec.readScope, operation: 'list', summary: `List ${spec.plural}` },
    { method: 'GET', url: item, scope: spec.readScope, operation: 'get', summary: `Get ${one}` },
  ];
  if (spec === CONVERSATIONS) {
    routes.push({ method: 'GET', url: `${item}/traces`, scope: spec.readScope, operation: 'list_traces', summary: "List a conversation's traces" });
  }
  const write = spec.write;
  if (write?.create) {
    const summary = { insert: `Create ${one}`, upsert: `Create or update ${one} by email or external_id`, ingest: 'Ingest a transcript' }[write.create.mode];
    routes.push({ method: 'POST', url: base, scope: write.scope, operation: 'create', summary });
  }
  if (write?.update) routes.push({ method: 'PATCH', url: item, scope: write.scope, operation: 'update', summary: `Update ${one}` });
  if (write?.remove) routes.push({ method: 'DELETE', url: item, scope: write.scope, operation: 'delete', summary: `Delete ${one}` });
  return routes;
}

/** Every route of the product API with the scope it needs. */
export const API_ROUTES: readonly ApiRoute[] = RESOURCES.flatMap(routesOf);
