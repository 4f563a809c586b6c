import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireWorkspace } from '../accounts/workspace-scope.js';
import { callerContext } from '../http/context.js';
import { pageQuery } from '../http/pagination.js';
import { displayName, pathId, workspaceParams } from '../http/schemas.js';
import { MAX_SCOPES } from '../product/product.js';
import { expiresAtSchema, metaSchema } from './key-meta.js';
import { rateLimitValue } from './key-settings.js';
import { DEFAULT_OVERLAP_SECONDS, MAX_OVERLAP_SECONDS } from './lifecycle.js';
import type { KeysService } from './keys-service.js';

// Bounded by the column's type only: the workspace ceiling, checked by the service, is the real bound
// and its message says so. null leaves a window open.
const rateLimitWindow = rateLimitValue.nullable();
const rateLimit = z.strictObject({ per_minute: rateLimitWindow.optional(), per_hour: rateLimitWindow.optional() });
// Twice the largest catalog a product file may list: duplicates are dropped later, unknown scopes refused by name.
const scopes = z.array(z.string().max(64)).max(MAX_SCOPES * 2);
const ipAllowlist = z.array(z.string().max(64)).max(100);
const keyParams = workspaceParams.extend({ key_id: pathId });

const createBody = z.strictObject({
  name: displayName,
  mode: z.enum(['live', 'test']).default('live'),
  scopes: scopes.min(1, 'scopes must list at least one scope.'),
  rate_limit: rateLimit.optional(),
  ip_allowlist: ipAllowlist.optional(),
  meta: metaSchema.optional(),
  expires_at: expiresAtSchema.optional(),
});

const updateBody = z.strictObject({
  name: displayName.optional(),
  scopes: scopes.min(1, 'scopes must list at least one scope.').optional(),
  rate_limit: rateLimit.optional(),
  ip_allowlist: ipAllowlist.optional(),
  meta: metaSchema.optional(),
  expires_at: expiresAtSchema.optional(),
});

export const keysRoutes: FastifyPluginAsyncZod<{ keys: KeysService }> = async (app, { keys }) => {
  app.get(
    '/v1/workspaces/:workspace_id/api-keys',
    { config: { permission: 'keys:read', capability: 'keys:read' }, schema: { params: workspaceParams, querystring: pageQuery.extend({ status: z.enum(['active', 'revoked', 'all']).default('active') }) } },
    async (request) => keys.list(requireWorkspace(request).id, request.query),
  );

  app.post('/v1/workspaces/:workspace_id/api-keys', { config: { permission: 'keys:write', capability: 'keys:write' }, schema: { params: workspaceParams, body: createBody } }, async (request, reply) => {
    const created = await keys.create(requireWorkspace(request).id, request.body, callerContext(request));
    return reply.code(201).send(created);
  });

  app.get('/v1/workspaces/:workspace_id/api-keys/:key_id', { config: { permission: 'keys:read', capability: 'keys:read' }, schema: { params: keyParams } }, async (request) =>
    keys.get(requireWorkspace(request).id, request.params.key_id),
  );

  app.patch('/v1/workspaces/:workspace_id/api-keys/:key_id', { config: { permission: 'keys:write', capability: 'keys:write' }, schema: { params: keyParams, body: updateBody } }, async (request) =>
    keys.update(requireWorkspace(request).id, request.params.key_id, request.body, callerContext(request)),
  );

  app.delete('/v1/workspaces/:workspace_id/api-keys/:key_id', { config: { permission: 'keys:write', capability: 'keys:revoke' }, schema: { params: keyParams } }, async (request) =>
    keys.revoke(requireWorkspace(request).id, request.params.key_id, callerContext(request)),
  );

  app.post(
    '/v1/workspaces/:workspace_id/api-keys/:key_id/rotate',
    {
      config: { permission: 'keys:write', capability: 'keys:rotate' },
      schema: {
        params: keyParams,
        // No body at all is the common case: rotate with the default overlap.
        body: z.strictObject({ overlap_seconds: z.number().int().min(0).max(MAX_OVERLAP_SECONDS).optional() }).nullish(),
      },
    },
    async (request) => {
      const overlap = request.body?.overlap_seconds ?? DEFAULT_OVERLAP_SECONDS;
      return keys.rotate(requireWorkspace(request).id, request.params.key_id, overlap, callerContext(request));
    },
  );

  app.post(
    '/v1/workspaces/:workspace_id/api-keys/:key_id/secrets/:secret_id/revoke',
    { config: { permission: 'keys:write', capability: 'keys:revoke' }, schema: { params: keyParams.extend({ secret_id: pathId }) } },
    async (request) =>
      keys.revokeSecret(requireWorkspace(request).id, request.params.key_id, request.params.secret_id, callerContext(request)),
  );
};
