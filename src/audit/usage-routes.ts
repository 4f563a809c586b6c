import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireWorkspace } from '../accounts/workspace-scope.js';
import type { Db } from '../db/client.js';
import { pathId, workspaceParams } from '../http/schemas.js';
import { createKeysRepo } from '../keys/keys-repo.js';
import { createUsageRepo } from './usage-repo.js';
import { MAX_USAGE_DAYS, createUsageService } from './usage-service.js';

export interface UsageRoutesOptions {
  db: Db;
  now: () => Date;
}

const usageQuery = z.object({ days: z.coerce.number().int().min(1).max(MAX_USAGE_DAYS).default(30) });

/** A key's usage over the last days, read from the audit rollups, with the anomalies the rules find in them. */
export const usageRoutes: FastifyPluginAsyncZod<UsageRoutesOptions> = async (app, { db, now }) => {
  const usage = createUsageService({ db, repo: createUsageRepo(), keys: createKeysRepo(), now });

  app.get(
    '/v1/workspaces/:workspace_id/api-keys/:key_id/usage',
    { config: { permission: 'audit:read', capability: 'usage:read' }, schema: { params: workspaceParams.extend({ key_id: pathId }), querystring: usageQuery } },
    async (request) => usage.usage(requireWorkspace(request).id, request.params.key_id, request.query.days),
  );
};
