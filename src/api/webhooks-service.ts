import type { EndpointOwner } from '../events/endpoints-repo.js';
import type { EndpointObject } from '../events/endpoints-present.js';
import type { EndpointsService } from '../events/endpoints-service.js';
import type { Page, PageRequest } from '../http/pagination.js';
import type { View } from './records-repo.js';
import type { ApiObject, Deleted } from './records-service.js';
import type { ResourceSpec } from './resources.js';

export interface WebhooksDeps {
  endpoints: Pick<EndpointsService, 'list' | 'get' | 'create' | 'update' | 'remove'>;
}

/** The view's webhooks are event endpoints of the product audience, in that workspace and mode. */
function ownerOf(view: View): EndpointOwner {
  return { audience: 'product', workspaceId: view.workspaceId, mode: view.mode };
}

/** The public API's `webhook_endpoint`, as it always looked: the endpoint's fields between id/object and the timestamps. */
function presentWebhook(endpoint: EndpointObject): ApiObject {
  return {
    id: endpoint.id,
    object: 'webhook_endpoint',
    url: endpoint.url,
    events: endpoint.events,
    description: endpoint.description,
    enabled: endpoint.enabled,
    created_at: endpoint.created_at,
    updated_at: endpoint.updated_at,
  };
}

/**
 * `/api/v1/webhooks`: the same operations as every resource (records-service.ts), stored as event
 * endpoints so the delivery engine sends the view's events to them, signed with a secret shown once (the
 * create answer's `secret`). The API key that creates a webhook is recorded as its creator.
 */
export function createWebhooksService(deps: WebhooksDeps) {
  const { endpoints } = deps;
  return {
    async list(view: View, _spec: ResourceSpec, page: PageRequest): Promise<Page<ApiObject>> {
      const listed = await endpoints.list(ownerOf(view), page);
      return { ...listed, data: listed.data.map(presentWebhook) };
    },

    async get(view: View, _spec: ResourceSpec, id: string): Promise<ApiObject> {
      return presentWebhook(await endpoints.get(ownerOf(view), id));
    },

    async insert(view: View, _spec: ResourceSpec, fields: Record<string, unknown>, apiKeyId: string): Promise<ApiObject> {
      const created = await endpoints.create(ownerOf(view), fields as { url: string; events: string[] }, { apiKeyId });
      return { ...presentWebhook(created), secret: created.secret };
    },

    async update(view: View, _spec: ResourceSpec, id: string, changes: Record<string, unknown>, apiKeyId: string): Promise<ApiObject> {
      return presentWebhook(await endpoints.update(ownerOf(view), id, changes, { apiKeyId }));
    },

    async remove(view: View, spec: ResourceSpec, id: string, apiKeyId: string): Promise<Deleted> {
      await endpoints.remove(ownerOf(view), id, { apiKeyId });
      return { id, object: spec.object, deleted: true };
    },
  };
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;
