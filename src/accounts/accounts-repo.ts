import { sql } from 'kysely';
import type { Executor } from '../db/client.js';
import type { Role } from '../db/schema.js';

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

    async insertWorkspace(ex: Executor, workspace: { id: string; name: string; ceiling_per_minute: number; ceiling_per_hour: number }) {
      await ex.insertInto('workspaces').values(workspace).execute();
    },

    findWorkspace(ex: Executor, id: string) {
      return ex.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
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
