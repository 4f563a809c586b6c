import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireWorkspace } from '../accounts/workspace-scope.js';
import type { Db } from '../db/client.js';
import { pathId, workspaceParams } from '../http/schemas.js';
import { eventFilterOf, exportQuery, managementFilterOf, managementQuery, searchQuery } from './audit-search-params.js';
import { createAuditSearchRepo } from './audit-search-repo.js';
import { createAuditSearchService } from './audit-search-service.js';
import { EXPORT_CONTENT_TYPES, encodeExport, exportFilename } from './export.js';

export interface AuditRoutesOptions {
  db: Db;
  now: () => Date;
  payloadDays: number;
}

/** The audit log's search, one event with its payload, the streamed export; and the management log's search. */
export const auditRoutes: FastifyPluginAsyncZod<AuditRoutesOptions> = async (app, { db, now, payloadDays }) => {
  const audit = createAuditSearchService({ db, repo: createAuditSearchRepo(), now, payloadDays });

  app.get('/v1/workspaces/:workspace_id/audit-events', { config: { permission: 'audit:read', capability: 'audit:read' }, schema: { params: workspaceParams, querystring: searchQuery } }, async (request) => {
    const { limit, cursor, ...filters } = request.query;
    return audit.searchEvents(requireWorkspace(request).id, eventFilterOf(filters), { limit, cursor });
  });

  // A static segment: Fastify matches it before the `:event_id` route below.
  app.get('/v1/workspaces/:workspace_id/audit-events/export', { config: { permission: 'audit:read', capability: 'audit:read' }, schema: { params: workspaceParams, querystring: exportQuery } }, async (request, reply) => {
    const { format, max_rows: maxRows, ...filters } = request.query;
    const workspaceId = requireWorkspace(request).id;
    const batches = await audit.exportEvents(workspaceId, eventFilterOf(filters), { maxRows });
    // Not an object stream: Readable.from then reads the next batch only once the client has taken this one.
    const body = Readable.from(encodeExport(batches, format), { objectMode: false });
    return reply
      .header('content-type', EXPORT_CONTENT_TYPES[format])
      .header('content-disposition', `attachment; filename="${exportFilename(workspaceId, now(), format)}"`)
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .send(body);
  });

  app.get(
    '/v1/workspaces/:workspace_id/audit-events/:event_id',
    { config: { permission: 'audit:read', capability: 'audit:read' }, schema: { params: workspaceParams.extend({ event_id: pathId }) } },
    async (request) => audit.getEvent(requireWorkspace(request).id, request.params.event_id),
  );

  app.get('/v1/workspaces/:workspace_id/management-events', { config: { permission: 'audit:read' }, schema: { params: workspaceParams, querystring: managementQuery } }, async (request) => {
    const { limit, cursor } = request.query;
    return audit.searchManagementEvents(requireWorkspace(request).id, managementFilterOf(request.query), { limit, cursor });
  });
};
