import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Role } from '../db/schema.js';
import { requireSession } from '../http/context.js';
import type { AccountsService } from './accounts-service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The workspace of a /v1/workspaces/{workspace_id}/… route and the caller's role in it. */
    workspace: { id: string; role: Role } | null;
  }
}

/**
 * Every route under /v1/workspaces/{workspace_id} is for the workspace's Owners and Admins:
 * one check here, before validation, so a Member gets 403 and a stranger 404 whatever they send.
 */
async function workspaceScope(app: FastifyInstance, options: { accounts: Pick<AccountsService, 'requireRole'> }): Promise<void> {
  app.decorateRequest('workspace', null);
  app.addHook('preValidation', async (request: FastifyRequest) => {
    const workspaceId = (request.params as { workspace_id?: string }).workspace_id;
    if (workspaceId === undefined) return;
    const role = await options.accounts.requireRole(workspaceId.slice(0, 64), requireSession(request).user.id);
    request.workspace = { id: workspaceId, role };
  });
}

export function requireWorkspace(request: FastifyRequest): { id: string; role: Role } {
  if (!request.workspace) throw new Error('route is not under /v1/workspaces/{workspace_id}');
  return request.workspace;
}

export default fp(workspaceScope, { name: 'latchkey-workspace-scope' });
