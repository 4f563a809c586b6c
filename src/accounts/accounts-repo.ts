import { sql } from 'kysely';
import type { Executor } from '../db/client.js';
import type { Role, Workspace } from '../db/schema.js';

export interface NewWorkspace {
  id: string;
  name: string;
  ceiling_per_minute: number;
  ceiling_per_hour: number;
  external_id?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
}

export interface WorkspaceChanges {
  name?: string | undefined;
  external_id?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/** PostgreSQL's unique_violation on the external id's index: another workspace has it (a concurrent create, too). */
export function isExternalIdTaken(error: unknown): boolean {
  const { code, constraint, message } = error as { code?: unknown; constraint?: unknown; message?: unknown };
  if (code !== '23505') return false;
  return constraint === 'workspaces_external_id' || (typeof message === 'string' && message.includes('workspaces_external_id'));
}

export function createAccountsRepo() {
  return {
    /** Serializes first-run setup: two concurrent setups cannot both see an empty installation. */
    async lockUsers(ex: Executor): Promise<void> {
      await sql`lock table users in share row exclusive mode`.execute(ex);
    },

    async countUsers(ex: Executor): Promise<number> {
      const row = await ex.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async insertUser(ex: Executor, user: { id: string; email: string; password_hash: string }): Promise<void> {
      await ex.insertInto('users').values(user).execute();
    },

    /** False when the email was taken meanwhile (a concurrent sign-up), instead of a unique violation. */
    async insertUserIfNew(ex: Executor, user: { id: string; email: string; password_hash: string }): Promise<boolean> {
      const result = await ex.insertInto('users').values(user).onConflict((oc) => oc.column('email').doNothing()).executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },

    findUserByEmail(ex: Executor, email: string) {
      return ex.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    },

    findUserById(ex: Executor, id: string) {
      return ex.selectFrom('users').select(['id', 'email', 'created_at']).where('id', '=', id).executeTakeFirst();
    },

    /** Throws PostgreSQL's unique_violation (see isExternalIdTaken) when the external id is taken. */
    insertWorkspace(ex: Executor, workspace: NewWorkspace): Promise<Workspace> {
      const { metadata, ...rest } = workspace;
      return ex
        .insertInto('workspaces')
        .values({ ...rest, ...(metadata === undefined ? {} : { metadata: JSON.stringify(metadata) }) })
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    findWorkspace(ex: Executor, id: string) {
      return ex.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
    },

    findWorkspaceByExternalId(ex: Executor, externalId: string) {
      return ex.selectFrom('workspaces').selectAll().where('external_id', '=', externalId).executeTakeFirst();
    },

    /**
     * A page of workspaces, newest first: those a service key reaches (`reach` null = every one), or those a
     * person manages (Owner or Admin); `limit + 1` rows (pagination.ts).
     */
    listWorkspaces(ex: Executor, filter: { reach: ReadonlySet<string> | null } | { managerId: string }, query: { externalId?: string | undefined; cursor?: string | undefined; size: number }) {
      let q = ex.selectFrom('workspaces').selectAll('workspaces');
      if ('managerId' in filter) {
        q = q
          .innerJoin('memberships', 'memberships.workspace_id', 'workspaces.id')
          .where('memberships.user_id', '=', filter.managerId)
          .where('memberships.role', 'in', ['owner', 'admin']);
      } else if (filter.reach !== null) {
        if (filter.reach.size === 0) return Promise.resolve([]);
        q = q.where('workspaces.id', 'in', [...filter.reach]);
      }
      if (query.externalId !== undefined) q = q.where('workspaces.external_id', '=', query.externalId);
      if (query.cursor !== undefined) q = q.where('workspaces.id', '<', query.cursor);
      return q.orderBy('workspaces.id', 'desc').limit(query.size).execute();
    },

    /** Throws unique_violation when the new external id is taken. */
    updateWorkspace(ex: Executor, id: string, changes: WorkspaceChanges): Promise<Workspace | undefined> {
      const { metadata, ...rest } = changes;
      return ex
        .updateTable('workspaces')
        .set({ ...rest, ...(metadata === undefined ? {} : { metadata: JSON.stringify(metadata) }) })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
    },

    /**
     * Holds the workspace row until the transaction ends. Every change to who is an Owner takes it first,
     * so that two such changes run one after the other and the second counts the Owners the first left:
     * at READ COMMITTED, two demotions that each counted two Owners would otherwise leave none.
     */
    async lockWorkspace(ex: Executor, id: string): Promise<boolean> {
      const row = await ex.selectFrom('workspaces').select('id').where('id', '=', id).forUpdate().executeTakeFirst();
      return row !== undefined;
    },

    async setCeiling(ex: Executor, id: string, ceiling: { ceiling_per_minute: number; ceiling_per_hour: number }): Promise<boolean> {
      const result = await ex.updateTable('workspaces').set(ceiling).where('id', '=', id).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async insertMembership(ex: Executor, membership: { workspace_id: string; user_id: string; role: Role }): Promise<void> {
      await ex.insertInto('memberships').values(membership).execute();
    },

    findMembership(ex: Executor, workspaceId: string, userId: string) {
      return ex
        .selectFrom('memberships')
        .select(['workspace_id', 'user_id', 'role'])
        .where('workspace_id', '=', workspaceId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
    },

    async setRole(ex: Executor, workspaceId: string, userId: string, role: Role): Promise<void> {
      await ex.updateTable('memberships').set({ role }).where('workspace_id', '=', workspaceId).where('user_id', '=', userId).execute();
    },

    async deleteMembership(ex: Executor, workspaceId: string, userId: string): Promise<void> {
      await ex.deleteFrom('memberships').where('workspace_id', '=', workspaceId).where('user_id', '=', userId).execute();
    },

    async countOwners(ex: Executor, workspaceId: string): Promise<number> {
      const row = await ex
        .selectFrom('memberships')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('workspace_id', '=', workspaceId)
        .where('role', '=', 'owner')
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    listMembers(ex: Executor, workspaceId: string) {
      return ex
        .selectFrom('memberships')
        .innerJoin('users', 'users.id', 'memberships.user_id')
        .select(['users.id as user_id', 'users.email', 'memberships.role', 'memberships.created_at'])
        .where('memberships.workspace_id', '=', workspaceId)
        .orderBy('memberships.created_at')
        .execute();
    },

    listWorkspacesOfUser(ex: Executor, userId: string) {
      return ex
        .selectFrom('memberships')
        .innerJoin('workspaces', 'workspaces.id', 'memberships.workspace_id')
        .select(['workspaces.id', 'workspaces.name', 'memberships.role'])
        .where('memberships.user_id', '=', userId)
        .orderBy('workspaces.id')
        .execute();
    },

    async insertSession(ex: Executor, session: { token_hash: string; id: string; user_id: string; expires_at: Date }) {
      await ex.insertInto('sessions').values(session).execute();
    },

    findSession(ex: Executor, tokenHash: string) {
      return ex
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .select(['sessions.id', 'sessions.expires_at', 'users.id as user_id', 'users.email'])
        .where('sessions.token_hash', '=', tokenHash)
        .executeTakeFirst();
    },

    async deleteSession(ex: Executor, id: string): Promise<void> {
      await ex.deleteFrom('sessions').where('id', '=', id).execute();
    },
  };
}

export type AccountsRepo = ReturnType<typeof createAccountsRepo>;
