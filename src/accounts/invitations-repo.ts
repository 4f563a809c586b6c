import type { Executor } from '../db/client.js';
import type { Role } from '../db/schema.js';

export interface NewInvitation {
  id: string;
  workspace_id: string;
  email: string;
  role: Role;
  token_hash: string;
  invited_by: string;
  expires_at: Date;
}

export function createInvitationsRepo() {
  return {
    async insert(ex: Executor, invitation: NewInvitation): Promise<void> {
      await ex.insertInto('invitations').values(invitation).execute();
    },

    /** The open (neither accepted nor revoked) invitation for an email in a workspace, expired or not. */
    findOpen(ex: Executor, workspaceId: string, email: string) {
      return ex
        .selectFrom('invitations')
        .select(['id', 'expires_at'])
        .where('workspace_id', '=', workspaceId)
        .where('email', '=', email)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
    },

    /** Pending ones, oldest first, with who sent each; at most `limit`. */
    listPending(ex: Executor, workspaceId: string, now: Date, limit: number) {
      return ex
        .selectFrom('invitations')
        .innerJoin('users', 'users.id', 'invitations.invited_by')
        .select([
          'invitations.id',
          'invitations.email',
          'invitations.role',
          'invitations.created_at',
          'invitations.expires_at',
          'users.email as invited_by_email',
        ])
        .where('invitations.workspace_id', '=', workspaceId)
        .where('invitations.accepted_at', 'is', null)
        .where('invitations.revoked_at', 'is', null)
        .where('invitations.expires_at', '>', now)
        .orderBy('invitations.id')
        .limit(limit)
        .execute();
    },

    async countPending(ex: Executor, workspaceId: string, now: Date): Promise<number> {
      const row = await ex
        .selectFrom('invitations')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('workspace_id', '=', workspaceId)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** The invitation behind a link, whatever its state, with its workspace's name and its sender. */
    findByTokenHash(ex: Executor, tokenHash: string) {
      return ex
        .selectFrom('invitations')
        .innerJoin('workspaces', 'workspaces.id', 'invitations.workspace_id')
        .innerJoin('users', 'users.id', 'invitations.invited_by')
        .select([
          'invitations.id',
          'invitations.workspace_id',
          'invitations.email',
          'invitations.role',
          'invitations.expires_at',
          'invitations.accepted_at',
          'invitations.revoked_at',
          'workspaces.name as workspace_name',
          'users.email as invited_by_email',
        ])
        .where('invitations.token_hash', '=', tokenHash)
        .executeTakeFirst();
    },

    findInWorkspace(ex: Executor, workspaceId: string, id: string) {
      return ex
        .selectFrom('invitations')
        .select(['id', 'email', 'role', 'expires_at', 'accepted_at', 'revoked_at'])
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    /**
     * Marks a pending invitation accepted, in the statement that checks it is pending: of two concurrent
     * acceptances, the second waits for the first's row lock, then finds it accepted and changes nothing.
     */
    async claim(ex: Executor, id: string, now: Date): Promise<boolean> {
      const result = await ex
        .updateTable('invitations')
        .set({ accepted_at: now })
        .where('id', '=', id)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async setAcceptedBy(ex: Executor, id: string, userId: string): Promise<void> {
      await ex.updateTable('invitations').set({ accepted_by: userId }).where('id', '=', id).execute();
    },

    async revoke(ex: Executor, id: string, now: Date): Promise<boolean> {
      const result = await ex
        .updateTable('invitations')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}

export type InvitationsRepo = ReturnType<typeof createInvitationsRepo>;
