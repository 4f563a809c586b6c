import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerContext, requireSession } from '../http/context.js';
import { pageQuery } from '../http/pagination.js';
import { displayName, holdsKey, jsonObject, text, workspaceParams } from '../http/schemas.js';
import type { WorkspaceCaller, WorkspacesService } from './workspaces-service.js';
import { requireWorkspace } from './workspace-scope.js';

/** The SaaS's own id for its customer: opaque text, matched exactly (no trimming, no case folding). */
export const externalId = text(200)
  .pipe(z.string().min(1, 'external_id must not be empty.'))
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), { message: 'must not contain control characters (tabs and line breaks included)' })
  .refine((value) => !holdsKey(value), { message: 'must not hold an API or service key' });
/** A workspace's metadata: the SaaS's own facts about its customer, at most 4 KB as JSON. */
export const MAX_METADATA_BYTES = 4096;
const metadata = jsonObject(MAX_METADATA_BYTES);

const createBody = z.strictObject({ name: displayName, external_id: externalId.optional(), metadata: metadata.optional() });
const updateBody = z.strictObject({ name: displayName.optional(), external_id: externalId.nullable().optional(), metadata: metadata.optional() });
const listQuery = pageQuery.extend({ external_id: externalId.optional() });

/** The answers' shapes, for the OpenAPI document (and so for the SDK's typed client). */
const workspaceObject = z.object({
  id: z.string(),
  object: z.literal('workspace'),
  name: z.string(),
  external_id: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  rate_limit_ceiling: z.object({ per_minute: z.number().int(), per_hour: z.number().int() }),
  created_at: z.string().nullable(),
});
const workspaceList = z.object({ object: z.literal('list'), data: z.array(workspaceObject), has_more: z.boolean(), next_cursor: z.string().nullable() });

function callerOf(request: FastifyRequest): WorkspaceCaller {
  if (request.serviceKey) return { type: 'service_key', workspaceIds: request.serviceKey.workspaceIds };
  return { type: 'user', userId: requireSession(request).user.id };
}

/**
 * Workspaces as objects (PRODUCT.md "Workspaces by external id"): people create the ones they own; the
 * SaaS backend, with a service key, creates its customers' (no members) and finds them by its own id.
 */
export const workspacesRoutes: FastifyPluginAsyncZod<{ workspaces: WorkspacesService }> = async (app, { workspaces }) => {
  app.post('/v1/workspaces', { config: { permission: 'workspaces:write' }, schema: { body: createBody, response: { 201: workspaceObject } } }, async (request, reply) => {
    const workspace = await workspaces.createWorkspace(request.body, callerOf(request), callerContext(request));
    return reply.code(201).send(workspace);
  });

  app.get('/v1/workspaces', { config: { permission: 'workspaces:read' }, schema: { querystring: listQuery, response: { 200: workspaceList } } }, async (request) =>
    workspaces.listWorkspaces(callerOf(request), request.query),
  );

  app.get('/v1/workspaces/:workspace_id', { config: { permission: 'workspaces:read' }, schema: { params: workspaceParams, response: { 200: workspaceObject } } }, async (request) =>
    workspaces.getWorkspace(requireWorkspace(request).id),
  );

  app.patch('/v1/workspaces/:workspace_id', { config: { permission: 'workspaces:write' }, schema: { params: workspaceParams, body: updateBody, response: { 200: workspaceObject } } }, async (request) =>
    workspaces.updateWorkspace(requireWorkspace(request).id, request.body, callerOf(request), callerContext(request)),
  );
};
