import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Role } from '../db/schema.js';
import { requireSession } from '../http/context.js';
import { notFound } from '../http/errors.js';
import type { AccountsService } from './accounts-service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The workspace of a /v1/workspaces/{workspace_id}/… route and the caller's role in it. */
    workspace: { id: string; role: Role } | null;
  }
}

/**
 * Every route under /v1/workspaces/{workspace_id} is for the workspace's Owners and Admins, for service
 * keys whose limit includes it, and for the embedded sessions minted for it: one check here, before
 * validation, so a Member gets 403 and a stranger 404 whatever they send.
 */
async function workspaceScope(app: FastifyInstance, options: { accounts: Pick<AccountsService, 'requireRole' | 'workspaceExists'> }): Promise<void> {
  app.decorateRequest('workspace', null);
  app.addHook('preValidation', async (request: FastifyRequest) => {
    const workspaceId = (request.params as { workspace_id?: string }).workspace_id;
    if (workspaceId === undefined) return;
    request.workspace = { id: workspaceId, role: await roleIn(request, workspaceId, options.accounts) };
  });
}

/**
 * A person's role in the workspace; a service key acts with an Owner's reach in every workspace its limit
 * allows (it is the SaaS backend, which provisions its customers' workspaces), and another workspace is
 * as unknown to it as to a stranger: 404.
 */
async function roleIn(request: FastifyRequest, workspaceId: string, accounts: Pick<AccountsService, 'requireRole' | 'workspaceExists'>): Promise<Role> {
  // An embedded session reaches its own workspace only, as an Admin would, within its capabilities.
  if (request.embed) {
    if (request.embed.workspaceId !== workspaceId) throw notFound('workspace');
    return 'admin';
  }
  const serviceKey = request.serviceKey;
  if (!serviceKey) return accounts.requireRole(workspaceId.slice(0, 64), requireSession(request).user.id);
  if ((serviceKey.workspaceIds && !serviceKey.workspaceIds.has(workspaceId)) || !(await accounts.workspaceExists(workspaceId))) {
    throw notFound('workspace');
  }
  return 'owner';
}

export function requireWorkspace(request: FastifyRequest): { id: string; role: Role } {
  if (!request.workspace) throw new Error('route is not under /v1/workspaces/{workspace_id}');
  return request.workspace;
}

export default fp(workspaceScope, { name: 'latchkey-workspace-scope' });
