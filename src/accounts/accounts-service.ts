import { recordManagementEvent, type ActionContext } from '../audit/management-log.js';
import type { Db, Executor } from '../db/client.js';
import type { Role } from '../db/schema.js';
import { AppError, invalidRequest, notFound } from '../http/errors.js';
import { newId } from '../ids.js';
import type { AccountsRepo } from './accounts-repo.js';
import type { LoginThrottle } from './login-throttle.js';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from './password.js';
import { createWorkspacesService } from './workspaces-service.js';
import { csrfTokenFor, hashSessionToken, newSessionToken } from './session-token.js';

export interface AccountsDeps {
  db: Db;
  repo: AccountsRepo;
  sessionTtlHours: number;
  defaultCeilingPerMinute: number;
  now: () => Date;
  /** Limits failed sign-ins; the app always gives one (the CLI signs no one in). */
  loginThrottle?: LoginThrottle;
  /** Announces a change to a key to every instance's cache (a workspace's external_id is part of its keys' answers). */
  onKeyChanged?: (keyId: string) => Promise<void>;
}

export interface SignedIn {
  user: { id: string; email: string };
  sessionToken: string;
  csrfToken: string;
  expiresAt: Date;
}

export interface SessionUser {
  sessionId: string;
  user: { id: string; email: string };
}

const MANAGER_ROLES: readonly Role[] = ['owner', 'admin'];

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function createAccountsService(deps: AccountsDeps) {
  const { db, repo } = deps;
  const workspaces = createWorkspacesService({ db, repo, defaultCeilingPerMinute: deps.defaultCeilingPerMinute, ...(deps.onKeyChanged ? { onKeyChanged: deps.onKeyChanged } : {}) });

  async function startSession(ex: Executor, user: { id: string; email: string }): Promise<SignedIn> {
    const sessionToken = newSessionToken();
    const expiresAt = new Date(deps.now().getTime() + deps.sessionTtlHours * 3600_000);
    await repo.insertSession(ex, { token_hash: hashSessionToken(sessionToken), id: newId('ses'), user_id: user.id, expires_at: expiresAt });
    return { user, sessionToken, csrfToken: csrfTokenFor(sessionToken), expiresAt };
  }

  async function createWorkspaceFor(ex: Executor, userId: string, name: string) {
    const workspace = await workspaces.insertWorkspace(ex, { name });
    await repo.insertMembership(ex, { workspace_id: workspace.id, user_id: userId, role: 'owner' });
    return workspace;
  }

  /**
   * Locks the workspace (see repo.lockWorkspace), then reads the actor's role again: the role checked
   * before the transaction may have been taken away by a change that held the lock meanwhile.
   * The operator (CLI, no actor) keeps the role it was given.
   */
  async function lockForMembershipChange(tx: Executor, workspaceId: string, actorRole: Role, context: ActionContext): Promise<Role> {
    if (!(await repo.lockWorkspace(tx, workspaceId))) throw notFound('workspace');
    if (!context.actor) return actorRole;
    const current = await repo.findMembership(tx, workspaceId, context.actor.id);
    if (!current) throw notFound('workspace');
    if (!MANAGER_ROLES.includes(current.role)) {
      throw new AppError('insufficient_role', 'This needs the Owner or Admin role in this workspace. Ask an Owner of the workspace to change your role.');
    }
    return current.role;
  }

  return {
    async isSetUp(): Promise<boolean> {
      return (await repo.countUsers(db)) > 0;
    },

    async setup(input: { email: string; password: string; workspaceName: string }, context: Omit<ActionContext, 'actor'>) {
      // Checked again under the lock below; this one spares scrypt to every setup call after the first.
      if ((await repo.countUsers(db)) > 0) throw new AppError('already_set_up', 'This installation is already set up. Sign in instead.');
      const passwordHash = await hashPassword(input.password);
      return db.transaction().execute(async (tx) => {
        await repo.lockUsers(tx);
        if ((await repo.countUsers(tx)) > 0) {
          throw new AppError('already_set_up', 'This installation is already set up. Sign in instead.');
        }
        const user = { id: newId('usr'), email: normalizeEmail(input.email) };
        await repo.insertUser(tx, { ...user, password_hash: passwordHash });
        const workspace = await createWorkspaceFor(tx, user.id, input.workspaceName);
        const actor = { ...context, actor: user };
        await recordManagementEvent(tx, actor, { workspaceId: workspace.id, action: 'setup', target: { type: 'workspace', id: workspace.id } });
        return { workspace, signedIn: await startSession(tx, user) };
      });
    },

    async login(input: { email: string; password: string }, context: Omit<ActionContext, 'actor'>): Promise<SignedIn> {
      const email = normalizeEmail(input.email);
      // Before the lookup, so that a throttled answer is the same whether or not the account exists.
      await deps.loginThrottle?.admit(email, context.sourceIp, deps.now().getTime());
      const found = await repo.findUserByEmail(db, email);
      const valid = await verifyPassword(input.password, found?.password_hash ?? DUMMY_PASSWORD_HASH);
      if (!found || !valid) {
        const throttled = await deps.loginThrottle?.failed(email, context.sourceIp, deps.now().getTime());
        await recordManagementEvent(db, { ...context, actor: found ? { id: found.id, email } : null }, {
          workspaceId: null,
          action: 'login_failed',
          details: throttled ? { email, throttled: true } : { email },
        });
        throw throttled ?? new AppError('invalid_credentials', 'The email or password is not right.');
      }
      await deps.loginThrottle?.succeeded(email, context.sourceIp, deps.now().getTime());
      const user = { id: found.id, email: found.email };
      return db.transaction().execute(async (tx) => {
        await recordManagementEvent(tx, { ...context, actor: user }, { workspaceId: null, action: 'login', target: { type: 'user', id: user.id } });
        return startSession(tx, user);
      });
    },

    async logout(session: SessionUser, context: ActionContext): Promise<void> {
      await db.transaction().execute(async (tx) => {
        await repo.deleteSession(tx, session.sessionId);
        await recordManagementEvent(tx, context, { workspaceId: null, action: 'logout', target: { type: 'user', id: session.user.id } });
      });
    },

    /** The signed-in user behind a session cookie, or null when it is unknown or expired. */
    async resolveSession(token: string): Promise<SessionUser | null> {
      const row = await repo.findSession(db, hashSessionToken(token));
      if (!row || row.expires_at.getTime() <= deps.now().getTime()) return null;
      return { sessionId: row.id, user: { id: row.user_id, email: row.email } };
    },

    async me(userId: string) {
      const user = await repo.findUserById(db, userId);
      if (!user) throw notFound('user');
      return { user, workspaces: await repo.listWorkspacesOfUser(db, userId) };
    },

    /** Workspaces by name, external id and metadata, for people and service keys (workspaces-service.ts). */
    workspaces,

    /**
     * The caller's role in a workspace: 404 when they are not in it (as if it did not exist),
     * 403 when their role is not one of `allowed`.
     */
    async requireRole(workspaceId: string, userId: string, allowed: readonly Role[] = MANAGER_ROLES): Promise<Role> {
      const membership = await repo.findMembership(db, workspaceId, userId);
      if (!membership) throw notFound('workspace');
      if (!allowed.includes(membership.role)) {
        throw new AppError('insufficient_role', 'This needs the Owner or Admin role in this workspace. Ask an Owner of the workspace to change your role.');
      }
      return membership.role;
    },

    async workspaceExists(workspaceId: string): Promise<boolean> {
      return (await repo.findWorkspace(db, workspaceId)) !== undefined;
    },

    listMembers(workspaceId: string) {
      return repo.listMembers(db, workspaceId);
    },

    /** Opens a session for a user who has just proved who they are (an accepted invitation). */
    startSession,

    /**
     * The operator's way (CLI create-user) to put a person in a workspace directly. The management API
     * never does this: there, people join by accepting an invitation (invitations-service).
     */
    async addMember(
      workspaceId: string,
      actorRole: Role,
      input: { email: string; password?: string | undefined; role: Role },
      context: ActionContext,
    ) {
      if (input.role === 'owner' && actorRole !== 'owner') {
        throw new AppError('insufficient_role', 'Only an Owner can make someone an Owner.');
      }
      const email = normalizeEmail(input.email);
      const passwordHash = input.password === undefined ? undefined : await hashPassword(input.password);
      return db.transaction().execute(async (tx) => {
        let user = await repo.findUserByEmail(tx, email);
        let created = false;
        if (!user) {
          if (passwordHash === undefined) {
            throw invalidRequest('password', `There is no user with the email ${email}; give a password to create one.`);
          }
          const id = newId('usr');
          await repo.insertUser(tx, { id, email, password_hash: passwordHash });
          user = { id, email, password_hash: passwordHash, created_at: deps.now() };
          created = true;
        }
        if (await repo.findMembership(tx, workspaceId, user.id)) {
          throw new AppError('conflict', `${email} is already a member of this workspace; change their role instead.`);
        }
        await repo.insertMembership(tx, { workspace_id: workspaceId, user_id: user.id, role: input.role });
        await recordManagementEvent(tx, context, {
          workspaceId,
          action: 'member.add',
          target: { type: 'user', id: user.id },
          details: { email, role: input.role, user_created: created },
          event: { type: 'member.added', data: { member: { user_id: user.id, email, role: input.role } } },
        });
        return { user_id: user.id, email, role: input.role };
      });
    },

    /** Takes someone out of a workspace; their account and the keys they created stay. */
    async removeMember(workspaceId: string, actorRole: Role, userId: string, context: ActionContext) {
      await db.transaction().execute(async (tx) => {
        const actorRoleNow = await lockForMembershipChange(tx, workspaceId, actorRole, context);
        const membership = await repo.findMembership(tx, workspaceId, userId);
        if (!membership) throw notFound('member');
        if (membership.role === 'owner' && actorRoleNow !== 'owner') {
          throw new AppError('insufficient_role', 'Only an Owner can remove an Owner.');
        }
        if (membership.role === 'owner' && (await repo.countOwners(tx, workspaceId)) <= 1) {
          throw new AppError('conflict', 'A workspace needs at least one Owner; make someone else an Owner first.');
        }
        const user = await repo.findUserById(tx, userId);
        await repo.deleteMembership(tx, workspaceId, userId);
        await recordManagementEvent(tx, context, {
          workspaceId,
          action: 'member.removed',
          target: { type: 'user', id: userId },
          details: { email: user?.email ?? null, role: membership.role },
        });
      });
    },

    async changeRole(workspaceId: string, actorRole: Role, userId: string, role: Role, context: ActionContext) {
      return db.transaction().execute(async (tx) => {
        const actorRoleNow = await lockForMembershipChange(tx, workspaceId, actorRole, context);
        const membership = await repo.findMembership(tx, workspaceId, userId);
        if (!membership) throw notFound('member');
        if ((membership.role === 'owner' || role === 'owner') && actorRoleNow !== 'owner') {
          throw new AppError('insufficient_role', 'Only an Owner can make someone an Owner or change an Owner\'s role.');
        }
        if (membership.role === 'owner' && role !== 'owner' && (await repo.countOwners(tx, workspaceId)) <= 1) {
          throw new AppError('conflict', 'A workspace needs at least one Owner; make someone else an Owner first.');
        }
        await repo.setRole(tx, workspaceId, userId, role);
        const user = await repo.findUserById(tx, userId);
        await recordManagementEvent(tx, context, {
          workspaceId,
          action: 'member.role_change',
          target: { type: 'user', id: userId },
          details: { from: membership.role, to: role },
          event: { type: 'member.role_changed', data: { member: { user_id: userId, email: user?.email ?? null, role }, previous_role: membership.role } },
        });
        return { user_id: userId, email: user?.email ?? '', role };
      });
    },
  };
}

export type AccountsService = ReturnType<typeof createAccountsService>;
