import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actionContext, callerContext, requireSession, signedInContext } from '../http/context.js';
import { requireWorkspace } from './workspace-scope.js';
import { displayName, email, iso, password, pathId, role, workspaceParams } from '../http/schemas.js';
import type { AccountsService } from './accounts-service.js';
import { clearSessionCookie, setSessionCookie, type SessionOptions } from './session-plugin.js';
import { csrfTokenFor } from './session-token.js';
import { presentWorkspace } from './workspaces-service.js';
import { workspacesRoutes } from './workspaces-routes.js';

export interface AccountsRoutesOptions {
  accounts: AccountsService;
  cookieSecure: SessionOptions['cookieSecure'];
}

export const accountsRoutes: FastifyPluginAsyncZod<AccountsRoutesOptions> = async (app, { accounts, cookieSecure }) => {
  await app.register(workspacesRoutes, { workspaces: accounts.workspaces });

  app.get('/v1/setup', { config: { public: true } }, async () => ({ needs_setup: !(await accounts.isSetUp()) }));

  app.post(
    '/v1/setup',
    {
      config: { public: true },
      schema: { body: z.strictObject({ email, password, workspace_name: displayName }) },
    },
    async (request, reply) => {
      const { workspace, signedIn } = await accounts.setup(
        { email: request.body.email, password: request.body.password, workspaceName: request.body.workspace_name },
        actionContext(request),
      );
      setSessionCookie(request, reply, signedIn.sessionToken, signedIn.expiresAt, cookieSecure);
      return reply.code(201).send({ user: signedIn.user, workspace: presentWorkspace(workspace), csrf_token: signedIn.csrfToken });
    },
  );

  app.post(
    '/v1/auth/login',
    { config: { public: true }, schema: { body: z.strictObject({ email, password: z.string().min(1).max(200) }) } },
    async (request, reply) => {
      const signedIn = await accounts.login(request.body, actionContext(request));
      setSessionCookie(request, reply, signedIn.sessionToken, signedIn.expiresAt, cookieSecure);
      return { user: signedIn.user, csrf_token: signedIn.csrfToken };
    },
  );

  app.post('/v1/auth/logout', async (request, reply) => {
    await accounts.logout(requireSession(request), signedInContext(request));
    clearSessionCookie(reply);
    return reply.code(204).send();
  });

  app.get('/v1/auth/me', async (request) => {
    const session = requireSession(request);
    const { user, workspaces } = await accounts.me(session.user.id);
    return {
      user: { id: user.id, email: user.email, created_at: iso(user.created_at) },
      workspaces,
      csrf_token: csrfTokenFor(session.token),
    };
  });

  app.get('/v1/workspaces/:workspace_id/members', { config: { permission: 'workspaces:read' }, schema: { params: workspaceParams } }, async (request) => {
    const { workspace_id } = request.params;
    const members = await accounts.listMembers(workspace_id);
    return {
      object: 'list' as const,
      data: members.map((m) => ({ user_id: m.user_id, email: m.email, role: m.role, added_at: iso(m.created_at) })),
      has_more: false,
      next_cursor: null,
    };
  });

  app.delete(
    '/v1/workspaces/:workspace_id/members/:user_id',
    { config: { permission: 'workspaces:write' }, schema: { params: workspaceParams.extend({ user_id: pathId }) } },
    async (request, reply) => {
      const { workspace_id, user_id } = request.params;
      await accounts.removeMember(workspace_id, requireWorkspace(request).role, user_id, callerContext(request));
      return reply.code(204).send();
    },
  );

  app.patch(
    '/v1/workspaces/:workspace_id/members/:user_id',
    { config: { permission: 'workspaces:write' }, schema: { params: workspaceParams.extend({ user_id: pathId }), body: z.strictObject({ role }) } },
    async (request) => {
      const { workspace_id, user_id } = request.params;
      return accounts.changeRole(workspace_id, requireWorkspace(request).role, user_id, request.body.role, callerContext(request));
    },
  );
};
