import { createHash, randomBytes } from 'node:crypto';
import { recordManagementEvent, type ActionContext } from '../audit/management-log.js';
import type { Db, Executor } from '../db/client.js';
import type { Role } from '../db/schema.js';
import { AppError, notFound } from '../http/errors.js';
import { newId } from '../ids.js';
import type { AccountsRepo } from './accounts-repo.js';
import { normalizeEmail, type SignedIn } from './accounts-service.js';
import { decideAcceptance, invitationState, INVITATION_TTL_MS, MAX_PENDING_INVITATIONS } from './invitation-rules.js';
import type { InvitationsRepo } from './invitations-repo.js';
import { hashPassword } from './password.js';

export interface InvitationsDeps {
  db: Db;
  accounts: Pick<
    AccountsRepo,
    'findUserByEmail' | 'findMembership' | 'insertMembership' | 'insertUserIfNew' | 'lockWorkspace'
  >;
  invitations: InvitationsRepo;
  startSession: (ex: Executor, user: { id: string; email: string }) => Promise<SignedIn>;
  now: () => Date;
}

/** 256 random bits; the link carries it, the database only its SHA-256. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function hashInvitationToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** One answer for an unknown, used, revoked or expired link: which of these it is does not matter to the holder. */
const LINK_NOT_VALID = () =>
  new AppError('not_found', 'This invitation link does not work any more: it was used, revoked or it expired. Ask for a new one.');

export function createInvitationsService(deps: InvitationsDeps) {
  const { db, accounts, invitations } = deps;

  /** The pending invitation behind a link, or the one refusal for every other case. */
  async function pendingByToken(ex: Executor, token: string) {
    if (!TOKEN_PATTERN.test(token)) throw LINK_NOT_VALID();
    const invitation = await invitations.findByTokenHash(ex, hashInvitationToken(token));
    if (!invitation || invitationState(invitation, deps.now()) !== 'pending') throw LINK_NOT_VALID();
    return invitation;
  }

  return {
    /**
     * Sends nothing and attaches no one: makes a single-use link for `email` to join with `role`. The answer
     * is the same whether or not the email has an account (the one exception, "already a member", the
     * caller can read in the member list anyway).
     */
    async invite(workspaceId: string, actorRole: Role, input: { email: string; role: Role }, context: ActionContext & { actor: { id: string; email: string } }) {
      if (input.role === 'owner' && actorRole !== 'owner') throw new AppError('insufficient_role', 'Only an Owner can invite someone as an Owner.');
      const email = normalizeEmail(input.email);
      const token = randomBytes(32).toString('base64url');
      const now = deps.now();
      return db.transaction().execute(async (tx) => {
        // Serializes invitations to one workspace, so the duplicate check and the pending count hold.
        if (!(await accounts.lockWorkspace(tx, workspaceId))) throw notFound('workspace');
        const user = await accounts.findUserByEmail(tx, email);
        if (user && (await accounts.findMembership(tx, workspaceId, user.id))) {
          throw new AppError('conflict', `${email} is already a member of this workspace; change their role instead.`, { param: 'email' });
        }
        const open = await invitations.findOpen(tx, workspaceId, email);
        if (open && open.expires_at.getTime() > now.getTime()) {
          throw new AppError('conflict', `${email} already has a pending invitation; revoke it to send a new link.`, { param: 'email' });
        }
        if (open) await invitations.revoke(tx, open.id, now);
        if ((await invitations.countPending(tx, workspaceId, now)) >= MAX_PENDING_INVITATIONS) {
          throw new AppError('conflict', `This workspace has ${MAX_PENDING_INVITATIONS} pending invitations; revoke some first.`);
        }
        const invitation = {
          id: newId('inv'),
          workspace_id: workspaceId,
          email,
          role: input.role,
          token_hash: hashInvitationToken(token),
          invited_by: context.actor.id,
          expires_at: new Date(now.getTime() + INVITATION_TTL_MS),
        };
        await invitations.insert(tx, invitation);
        await recordManagementEvent(tx, context, {
          workspaceId,
          action: 'member.invited',
          target: { type: 'invitation', id: invitation.id },
          details: { email, role: input.role },
        });
        return { invitation: { ...invitation, created_at: now, invited_by_email: context.actor.email }, token };
      });
    },

    listPending(workspaceId: string) {
      return invitations.listPending(db, workspaceId, deps.now(), MAX_PENDING_INVITATIONS);
    },

    async revoke(workspaceId: string, actorRole: Role, invitationId: string, context: ActionContext) {
      return db.transaction().execute(async (tx) => {
        const invitation = await invitations.findInWorkspace(tx, workspaceId, invitationId);
        if (!invitation) throw notFound('invitation');
        if (invitation.role === 'owner' && actorRole !== 'owner') {
          throw new AppError('insufficient_role', 'Only an Owner can revoke an invitation to be an Owner.');
        }
        const now = deps.now();
        const state = invitationState(invitation, now);
        if (state === 'accepted' || state === 'revoked') throw new AppError('conflict', `This invitation was already ${state}.`);
        if (!(await invitations.revoke(tx, invitation.id, now))) throw new AppError('conflict', 'This invitation was accepted or revoked meanwhile.');
        await recordManagementEvent(tx, context, {
          workspaceId,
          action: 'member.invite_revoked',
          target: { type: 'invitation', id: invitation.id },
          details: { email: invitation.email, role: invitation.role },
        });
        return { ...invitation, revoked_at: now };
      });
    },

    /**
     * What a link offers, for the person who opened it. `needs_password` tells whether the email has an
     * account: whoever holds the link may learn that (the inviter held it first); no answer to the inviter's
     * own calls does.
     */
    async lookup(token: string, session: { id: string; email: string } | undefined) {
      const invitation = await pendingByToken(db, token);
      const account = await accounts.findUserByEmail(db, invitation.email);
      return { invitation, needsPassword: !account, signedInAs: session?.email ?? null };
    },

    async accept(
      token: string,
      input: { password?: string | undefined },
      session: { id: string; email: string } | undefined,
      context: Omit<ActionContext, 'actor'>,
    ): Promise<{ workspace: { id: string; name: string }; role: Role; user: { id: string; email: string }; signedIn?: SignedIn }> {
      const invitation = await pendingByToken(db, token);
      const account = await accounts.findUserByEmail(db, invitation.email);
      const decision = decideAcceptance({
        email: invitation.email,
        accountId: account?.id,
        sessionUserId: session?.id,
        passwordGiven: input.password !== undefined,
      });
      if (decision.kind === 'refuse') {
        throw new AppError(decision.code, decision.message, decision.param === undefined ? {} : { param: decision.param });
      }
      const passwordHash = decision.kind === 'create_account' && input.password !== undefined ? await hashPassword(input.password) : undefined;
      const now = deps.now();
      return db.transaction().execute(async (tx) => {
        // Checks and spends the link in one statement, first: the second of two concurrent acceptances waits
        // for the first's row lock, then finds the link spent.
        if (!(await invitations.claim(tx, invitation.id, now))) throw LINK_NOT_VALID();
        const user = { id: decision.kind === 'join' ? decision.userId : newId('usr'), email: invitation.email };
        if (passwordHash !== undefined && !(await accounts.insertUserIfNew(tx, { ...user, password_hash: passwordHash }))) {
          throw new AppError('conflict', `${invitation.email} has just been given an account: sign in as ${invitation.email}, then accept.`);
        }
        await invitations.setAcceptedBy(tx, invitation.id, user.id);
        if (await accounts.findMembership(tx, invitation.workspace_id, user.id)) {
          throw new AppError('conflict', 'You are already a member of this workspace.');
        }
        await accounts.insertMembership(tx, { workspace_id: invitation.workspace_id, user_id: user.id, role: invitation.role });
        await recordManagementEvent(tx, { ...context, actor: user }, {
          workspaceId: invitation.workspace_id,
          action: 'member.joined',
          target: { type: 'user', id: user.id },
          details: { invitation_id: invitation.id, role: invitation.role, invited_by: invitation.invited_by_email },
          event: { type: 'member.added', data: { member: { user_id: user.id, email: user.email, role: invitation.role }, invitation_id: invitation.id } },
        });
        const joined = { workspace: { id: invitation.workspace_id, name: invitation.workspace_name }, role: invitation.role, user };
        return passwordHash === undefined ? joined : { ...joined, signedIn: await deps.startSession(tx, user) };
      });
    },
  };
}

export type InvitationsService = ReturnType<typeof createInvitationsService>;
