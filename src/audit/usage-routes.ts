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

/** An instant with its offset (2026-01-05T14:00:00Z or …+02:00): no local times, whose meaning depends on the server. */
const instant = z
  .string()
  .max(40)
  .pipe(z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-01-05T14:00:00Z' }))
  .transform((value) => new Date(value));

const usageQuery = z.object({ days: z.coerce.number().int().min(1).max(MAX_USAGE_DAYS).default(30) });
const anomaliesQuery = z.object({ from: instant.optional(), to: instant.optional(), key_id: pathId.optional() });

/** A key's usage over the last days and the workspace's anomalies, both read from the audit rollups. */
export const usageRoutes: FastifyPluginAsyncZod<UsageRoutesOptions> = async (app, { db, now }) => {
  const usage = createUsageService({ db, repo: createUsageRepo(), keys: createKeysRepo(), now });

  app.get(
    '/v1/workspaces/:workspace_id/api-keys/:key_id/usage',
    { config: { permission: 'audit:read', capability: 'usage:read' }, schema: { params: workspaceParams.extend({ key_id: pathId }), querystring: usageQuery } },
    async (request) => usage.usage(requireWorkspace(request).id, request.params.key_id, request.query.days),
  );

  app.get(
    '/v1/workspaces/:workspace_id/anomalies',
    { config: { permission: 'audit:read', capability: 'usage:read' }, schema: { params: workspaceParams, querystring: anomaliesQuery } },
    async (request) => usage.anomalies(requireWorkspace(request).id, request.query),
  );
};
