import type { FastifyContextConfig, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireWorkspace } from '../accounts/workspace-scope.js';
import { callerContext } from '../http/context.js';
import { AppError } from '../http/errors.js';
import { pageQuery } from '../http/pagination.js';
import { pathId, text, workspaceParams } from '../http/schemas.js';
import type { EndpointOwner } from './endpoints-repo.js';
import { MAX_DESCRIPTION, type EndpointsService } from './endpoints-service.js';

// Shapes only here; the service says which URLs and event types it accepts, naming the field.
const url = z.string().max(2048);
const events = z.array(z.string().max(64)).max(50);
const description = text(MAX_DESCRIPTION).nullable();

const createBody = z.strictObject({ url, events, description: description.optional(), enabled: z.boolean().optional() });
const updateBody = z.strictObject({ url: url.optional(), events: events.optional(), description: description.optional(), enabled: z.boolean().optional() });
const deliveriesQuery = pageQuery.extend({ status: z.enum(['pending', 'delivered', 'failed']).optional() });

type Owner = (request: FastifyRequest) => EndpointOwner;

const workspaceOwner: Owner = (request) => ({ audience: 'workspace', workspaceId: requireWorkspace(request).id });

/**
 * Installation endpoints receive every workspace's events: only a service key that reaches every
 * workspace may manage them (one limited to some workspaces would read the others' events).
 */
const installationOwner: Owner = (request) => {
  const serviceKey = request.serviceKey;
  if (!serviceKey) throw new AppError('not_authenticated', 'Send a service key as Authorization: Bearer <service key>.');
  if (serviceKey.workspaceIds !== null) {
    throw new AppError(
      'insufficient_permission',
      'Installation endpoints receive every workspace’s events: they need a service key that is not limited to some workspaces.',
      { param: 'events:manage' },
    );
  }
  return { audience: 'installation' };
};

/**
 * The events API (PRODUCT.md "Events out"): a workspace's endpoints under /v1/workspaces/{workspace_id}
 * (its Owners and Admins, service keys with events:manage; not embedded sessions), and the installation's
 * at /v1/event-endpoints (service keys with events:manage that reach every workspace). One set of routes,
 * two bases: only who owns the endpoints differs.
 */
export const endpointsRoutes: FastifyPluginAsyncZod<{ endpoints: EndpointsService }> = async (app, { endpoints }) => {
  const surfaces: Array<{ base: string; owner: Owner; listParams: z.ZodObject<{ workspace_id?: typeof pathId }>; config: FastifyContextConfig }> = [
    { base: '/v1/workspaces/:workspace_id/event-endpoints', owner: workspaceOwner, listParams: workspaceParams, config: { permission: 'events:manage' } },
    { base: '/v1/event-endpoints', owner: installationOwner, listParams: z.object({}), config: { permission: 'events:manage', serviceKeyOnly: true } },
  ];
  for (const { base, owner, listParams, config } of surfaces) {
    const item = `${base}/:endpoint_id`;
    const params = listParams.extend({ endpoint_id: pathId });
    const deliveryParams = params.extend({ delivery_id: pathId });
    const doc = { tags: ['event endpoints'] };

    app.get(base, { config, schema: { ...doc, summary: 'List event endpoints', params: listParams, querystring: pageQuery } }, async (request) =>
      endpoints.list(owner(request), request.query),
    );

    app.post(base, { config, schema: { ...doc, summary: 'Add an event endpoint (the answer holds its signing secret, once)', params: listParams, body: createBody } }, async (request, reply) => {
      const created = await endpoints.create(owner(request), request.body, { context: callerContext(request) });
      return reply.code(201).send(created);
    });

    app.get(item, { config, schema: { ...doc, summary: 'Get an event endpoint', params } }, async (request) => endpoints.get(owner(request), request.params.endpoint_id));

    app.patch(item, { config, schema: { ...doc, summary: 'Change an event endpoint (enabled: true re-enables a disabled one)', params, body: updateBody } }, async (request) =>
      endpoints.update(owner(request), request.params.endpoint_id, request.body, { context: callerContext(request) }),
    );

    app.delete(item, { config, schema: { ...doc, summary: 'Delete an event endpoint and its pending deliveries', params } }, async (request, reply) => {
      await endpoints.remove(owner(request), request.params.endpoint_id, { context: callerContext(request) });
      return reply.code(204).send();
    });

    app.post(`${item}/rotate-secret`, { config, schema: { ...doc, summary: 'Rotate the signing secret (the old one signs beside the new for 24 hours)', params } }, async (request) =>
      endpoints.rotateSecret(owner(request), request.params.endpoint_id, { context: callerContext(request) }),
    );

    app.post(`${item}/test`, { config, schema: { ...doc, summary: 'Send a latchkey.test event to this endpoint only', params } }, async (request, reply) => {
      const delivery = await endpoints.sendTest(owner(request), request.params.endpoint_id, { context: callerContext(request) });
      return reply.code(202).send(delivery);
    });

    app.get(`${item}/deliveries`, { config, schema: { ...doc, summary: "List an endpoint's deliveries, newest first, with their attempts", params, querystring: deliveriesQuery } }, async (request) =>
      endpoints.listDeliveries(owner(request), request.params.endpoint_id, request.query),
    );

    app.post(`${item}/deliveries/:delivery_id/retry`, { config, schema: { ...doc, summary: 'Send a delivery again, now', params: deliveryParams } }, async (request) =>
      endpoints.retryDelivery(owner(request), request.params.endpoint_id, request.params.delivery_id, { context: callerContext(request) }),
    );
  }
};
