import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actionContext, signedInContext } from '../http/context.js';
import { AppError } from '../http/errors.js';
import { email, iso, password, pathId, role, workspaceParams } from '../http/schemas.js';
import type { InvitationsService } from './invitations-service.js';
import { setSessionCookie, type SessionOptions } from './session-plugin.js';
import { csrfTokenMatches } from './session-token.js';
import { requireWorkspace } from './workspace-scope.js';

export interface InvitationsRoutesOptions {
  invitations: InvitationsService;
  cookieSecure: SessionOptions['cookieSecure'];
}

interface InvitationRow {
  id: string;
  email: string;
  role: string;
  created_at: Date;
  expires_at: Date;
  invited_by_email: string;
}

function presentInvitation(row: InvitationRow) {
  return {
    id: row.id,
    object: 'invitation' as const,
    email: row.email,
    role: row.role,
    invited_by: row.invited_by_email,
    created_at: iso(row.created_at),
    expires_at: iso(row.expires_at),
  };
}

/**
 * The link's token is a credential: bounded here, and the routes that carry it log nothing below warn (no
 * URL). Its shape is checked by the service, which answers any token that is not a live link alike (404).
 */
const tokenParams = z.object({ token: z.string().max(200) });
const TOKEN_ROUTE = { config: { public: true }, logLevel: 'warn' } as const;

/**
 * The token routes are public (the person may have no account yet), so the session plugin does not check
 * CSRF on them; a request that acts with a session must still prove it comes from the console.
 */
function sessionOf(request: FastifyRequest): { id: string; email: string } | undefined {
  const session = request.session;
  if (!session) return undefined;
  const header = request.headers['x-csrf-token'];
  if (request.method !== 'GET' && !csrfTokenMatches(session.token, Array.isArray(header) ? header[0] : header)) {
    throw new AppError('csrf_token_invalid', 'Send the X-CSRF-Token header with the csrf_token that login or /v1/auth/me returned.');
  }
  return session.user;
}

export const invitationsRoutes: FastifyPluginAsyncZod<InvitationsRoutesOptions> = async (app, { invitations, cookieSecure }) => {
  app.post(
    '/v1/workspaces/:workspace_id/members',
    { schema: { params: workspaceParams, body: z.strictObject({ email, role }) } },
    async (request, reply) => {
      const workspace = requireWorkspace(request);
      const { invitation, token } = await invitations.invite(workspace.id, workspace.role, request.body, signedInContext(request));
      // A fragment, so that opening the link sends the token to no server log; the console reads it.
      const inviteUrl = `${request.protocol}://${request.host}/#/invite/${token}`;
      return reply.code(201).send({ ...presentInvitation(invitation), token, invite_url: inviteUrl });
    },
  );

  app.get('/v1/workspaces/:workspace_id/invitations', { schema: { params: workspaceParams } }, async (request) => {
    const rows = await invitations.listPending(requireWorkspace(request).id);
    return { object: 'list' as const, data: rows.map(presentInvitation), has_more: false, next_cursor: null };
  });

  app.delete(
    '/v1/workspaces/:workspace_id/invitations/:invitation_id',
    { schema: { params: workspaceParams.extend({ invitation_id: pathId }) } },
    async (request) => {
      const workspace = requireWorkspace(request);
      const revoked = await invitations.revoke(workspace.id, workspace.role, request.params.invitation_id, signedInContext(request));
      return { id: revoked.id, object: 'invitation' as const, email: revoked.email, role: revoked.role, revoked_at: iso(revoked.revoked_at) };
    },
  );

  app.get('/v1/invitations/:token', { ...TOKEN_ROUTE, schema: { params: tokenParams } }, async (request) => {
    const { invitation, needsPassword, signedInAs } = await invitations.lookup(request.params.token, sessionOf(request));
    return {
      object: 'invitation' as const,
      workspace: { id: invitation.workspace_id, name: invitation.workspace_name },
      email: invitation.email,
      role: invitation.role,
      invited_by: invitation.invited_by_email,
      expires_at: iso(invitation.expires_at),
      needs_password: needsPassword,
      signed_in_as: signedInAs,
    };
  });

  app.post(
    '/v1/invitations/:token/accept',
    { ...TOKEN_ROUTE, schema: { params: tokenParams, body: z.strictObject({ password: password.optional() }).default({}) } },
    async (request, reply) => {
      const joined = await invitations.accept(request.params.token, request.body, sessionOf(request), actionContext(request));
      if (joined.signedIn) setSessionCookie(request, reply, joined.signedIn.sessionToken, joined.signedIn.expiresAt, cookieSecure);
      return {
        object: 'membership' as const,
        workspace: joined.workspace,
        role: joined.role,
        user: joined.user,
        ...(joined.signedIn ? { csrf_token: joined.signedIn.csrfToken } : {}),
      };
    },
  );
};
