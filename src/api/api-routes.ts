import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../auth/principal.js';
import type { Db } from '../db/client.js';
import { pathId, text } from '../http/schemas.js';
import { createContactsService, type ContactsService } from './contacts-service.js';
import { createConversationsService, type ConversationsService } from './conversations-service.js';
import { pageQuery, type Page, type PageRequest } from '../http/pagination.js';
import { createRecordsRepo, type View } from './records-repo.js';
import { createRecordsService, type ApiObject, type Deleted, type RecordsService } from './records-service.js';
import { createWebhooksService, type WebhooksDeps } from './webhooks-service.js';
import { RESOURCES, TRACE_OBJECT, routesOf, type ApiRoute, type ResourceSpec } from './resources.js';

export { API_ROUTES, RESOURCES, type ApiRoute, type ResourceSpec } from './resources.js';

export interface ApiRoutesOptions {
  db: Db;
  now: () => Date;
  /** Where the webhooks resource keeps its endpoints: the delivery engine's (src/events/). */
  endpoints: WebhooksDeps['endpoints'];
}

type App = Parameters<FastifyPluginAsyncZod>[0];

/** Writes are small JSON documents, but a knowledge base entry may hold 50,000 characters of text. */
const WRITE_BODY_LIMIT = 256 * 1024;
/** A transcript of up to 1,000 messages. */
const INGEST_BODY_LIMIT = 1024 * 1024;

/** Bounded here; its shape (the resource's prefix) is checked before this, by src/http/path-ids.ts. */
const idParams = z.object({ id: pathId });

/** The caller's view: the workspace of the key and its mode. Every query is narrowed to it. */
function viewOf(request: FastifyRequest): View {
  const { workspaceId, mode } = principalOf(request);
  return { workspaceId, mode };
}

/**
 * The reference product API under /api/v1. Routes are generated from the resource specs (resources.ts);
 * each declares the scope it needs in `config.scope`, which the API-key hook registered before this plugin
 * enforces, so the handlers here only narrow to the caller's view.
 */
export const apiRoutes: FastifyPluginAsyncZod<ApiRoutesOptions> = async (app, { db, now, endpoints }) => {
  const repo = createRecordsRepo();
  const records = createRecordsService({ db, repo, now });
  const services: Services = {
    records,
    webhooks: createWebhooksService({ endpoints }),
    contacts: createContactsService({ db, repo, records, now }),
    conversations: createConversationsService({ db, repo, records, now }),
  };
  for (const spec of RESOURCES) {
    for (const route of routesOf(spec)) registerRoute(app, services, spec, route);
  }
};

/**
 * The generic operations of a resource, whatever stores it. `apiKeyId`: the calling key, which a store
 * may record as the creator (the webhooks do; records do not).
 */
interface ResourceStore {
  list(view: View, spec: ResourceSpec, page: PageRequest): Promise<Page<ApiObject>>;
  get(view: View, spec: ResourceSpec, id: string): Promise<ApiObject>;
  insert(view: View, spec: ResourceSpec, fields: Record<string, unknown>, apiKeyId: string): Promise<ApiObject>;
  update(view: View, spec: ResourceSpec, id: string, changes: Record<string, unknown>, apiKeyId: string): Promise<ApiObject>;
  remove(view: View, spec: ResourceSpec, id: string, apiKeyId: string): Promise<Deleted>;
}

interface Services {
  records: RecordsService;
  webhooks: ResourceStore;
  contacts: ContactsService;
  conversations: ConversationsService;
}

function storeOf(services: Services, spec: ResourceSpec): ResourceStore {
  return spec.store === 'event_endpoints' ? services.webhooks : services.records;
}

const keyOf = (request: FastifyRequest) => principalOf(request).keyId;

function registerRoute(app: App, services: Services, spec: ResourceSpec, route: ApiRoute): void {
  const { records } = services;
  const store = storeOf(services, spec);
  // pathId: the shape of `:id`, checked before any lookup (src/http/path-ids.ts).
  const config = { scope: route.scope, pathId: { prefix: spec.prefix, noun: spec.noun } };
  const doc = { summary: route.summary, tags: [spec.path] };
  switch (route.operation) {
    case 'list':
      app.get(route.url, { config, schema: { ...doc, querystring: pageQuery } }, async (request) => store.list(viewOf(request), spec, request.query));
      return;
    case 'get':
      app.get(route.url, { config, schema: { ...doc, params: idParams } }, async (request) => store.get(viewOf(request), spec, request.params.id));
      return;
    case 'list_traces':
      app.get(route.url, { config, schema: { ...doc, params: idParams, querystring: pageQuery } }, async (request) =>
        records.listChildren(viewOf(request), spec, request.params.id, TRACE_OBJECT, request.query),
      );
      return;
    case 'create':
      registerCreate(app, services, spec, route);
      return;
    case 'update': {
      const body = spec.write?.update;
      if (!body) throw new Error(`${spec.path}: an update route needs an update schema`);
      app.patch(route.url, { config, bodyLimit: WRITE_BODY_LIMIT, schema: { ...doc, params: idParams, body } }, async (request) =>
        store.update(viewOf(request), spec, request.params.id, request.body, keyOf(request)),
      );
      return;
    }
    case 'delete':
      app.delete(route.url, { config, schema: { ...doc, params: idParams } }, async (request) => store.remove(viewOf(request), spec, request.params.id, keyOf(request)));
      return;
  }
}

/** POST: a plain insert (201), a contact upsert (201 created, 200 updated), or a transcript ingest (201). */
function registerCreate(app: App, services: Services, spec: ResourceSpec, route: ApiRoute): void {
  const create = spec.write?.create;
  if (!create) throw new Error(`${spec.path}: a create route needs a create schema`);
  const config = { scope: route.scope };
  const doc = { summary: route.summary, tags: [spec.path] };
  switch (create.mode) {
    case 'insert':
      app.post(route.url, { config, bodyLimit: WRITE_BODY_LIMIT, schema: { ...doc, body: create.body } }, async (request, reply) =>
        reply.code(201).send(await storeOf(services, spec).insert(viewOf(request), spec, request.body, keyOf(request))),
      );
      return;
    case 'upsert':
      app.post(route.url, { config, bodyLimit: WRITE_BODY_LIMIT, schema: { ...doc, body: create.body } }, async (request, reply) => {
        const { created, contact } = await services.contacts.upsert(viewOf(request), request.body);
        return reply.code(created ? 201 : 200).send(contact);
      });
      return;
    case 'ingest':
      app.post(route.url, { config, bodyLimit: INGEST_BODY_LIMIT, schema: { ...doc, body: create.body } }, async (request, reply) =>
        reply.code(201).send(await services.conversations.ingest(viewOf(request), request.body)),
      );
      return;
  }
}
