import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireWorkspace } from '../accounts/workspace-scope.js';
import { callerContext } from '../http/context.js';
import { pageQuery } from '../http/pagination.js';
import { pathId, workspaceParams } from '../http/schemas.js';
import type { Db } from '../db/client.js';
import { createKeysRepo } from '../keys/keys-repo.js';
import { FINDING_STATUSES, createFindingsRepo } from './findings-repo.js';
import { createFindingsService } from './findings-service.js';

export interface FindingsRoutesOptions {
  db: Db;
  now: () => Date;
}

const status = z.enum(FINDING_STATUSES);
const listQuery = pageQuery.extend({ status: z.union([status, z.literal('all')]).default('all'), key_id: pathId.optional() });
const findingParams = workspaceParams.extend({ anomaly_id: pathId });

/**
 * The workspace's anomaly findings, as the detector stored them. Reading them is reading usage (an
 * embedded session with usage:read may); changing their status is a decision about keys, for people
 * and service keys that may change keys, and not for embedded sessions.
 */
export const findingsRoutes: FastifyPluginAsyncZod<FindingsRoutesOptions> = async (app, { db, now }) => {
  const findings = createFindingsService({ db, repo: createFindingsRepo(), keys: createKeysRepo(), now });

  app.get(
    '/v1/workspaces/:workspace_id/anomalies',
    { config: { permission: 'audit:read', capability: 'usage:read' }, schema: { params: workspaceParams, querystring: listQuery } },
    async (request) => findings.list(requireWorkspace(request).id, request.query),
  );

  app.patch(
    '/v1/workspaces/:workspace_id/anomalies/:anomaly_id',
    { config: { permission: 'keys:write' }, schema: { params: findingParams, body: z.object({ status }) } },
    async (request) => findings.setStatus(requireWorkspace(request).id, request.params.anomaly_id, request.body.status, callerContext(request)),
  );
};
