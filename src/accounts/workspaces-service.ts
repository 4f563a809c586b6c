import { recordManagementEvent, type ActorContext } from '../audit/management-log.js';
import type { Db, Executor } from '../db/client.js';
import type { Workspace } from '../db/schema.js';
import { AppError, notFound } from '../http/errors.js';
import { fetchSize, toPage, type PageRequest } from '../http/pagination.js';
import { iso } from '../http/schemas.js';
import { newId } from '../ids.js';
import { isExternalIdTaken, type AccountsRepo, type WorkspaceChanges } from './accounts-repo.js';

/**
 * Who asks, as the workspace rules need it: a person (who owns what they create and sees what they manage)
 * or a service key (the SaaS backend: creates workspaces with no members, sees those within its limit).
 */
export type WorkspaceCaller = { type: 'user'; userId: string } | { type: 'service_key'; workspaceIds: ReadonlySet<string> | null };

export interface WorkspaceInput {
  name: string;
  external_id?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
}

export interface WorkspacesDeps {
  db: Db;
  repo: Pick<AccountsRepo, 'insertWorkspace' | 'insertMembership' | 'findWorkspace' | 'findWorkspaceByExternalId' | 'listWorkspaces' | 'updateWorkspace' | 'lockWorkspace'>;
  defaultCeilingPerMinute: number;
  /**
   * Announces a change to one key (as the keys service does): a verified key carries its workspace's
   * external_id, so changing it must drop the workspace's keys from every instance's cache.
   */
  onKeyChanged?: (keyId: string) => Promise<void>;
}

export function presentWorkspace(w: Workspace) {
  return {
    id: w.id,
    object: 'workspace' as const,
    name: w.name,
    external_id: w.external_id,
    metadata: w.metadata,
    rate_limit_ceiling: { per_minute: w.ceiling_per_minute, per_hour: w.ceiling_per_hour },
    created_at: iso(w.created_at),
  };
}

export type WorkspaceObject = ReturnType<typeof presentWorkspace>;

/**
 * `external_id` and `metadata` are the SaaS backend's: it finds its customer's workspace by the one and
 * may trust the other. A person who could set them could claim another customer's external id before the
 * backend provisions it, and receive that customer's keys; so only a service key sets them.
 */
function refuseBackendFields(caller: WorkspaceCaller, input: { external_id?: unknown; metadata?: unknown }): void {
  if (caller.type === 'service_key') return;
  const field = input.external_id !== undefined ? 'external_id' : input.metadata !== undefined ? 'metadata' : undefined;
  if (field === undefined) return;
  throw new AppError('insufficient_permission', `${field} is set by the SaaS backend: send it with a service key holding workspaces:write. People can read it but not set it.`, {
    param: field,
  });
}

function externalIdTaken(externalId: string, existing: Workspace | undefined): AppError {
  const id = existing?.id;
  return new AppError('external_id_taken', `The external_id ${JSON.stringify(externalId)} belongs to ${id ?? 'another workspace'}; find it with GET /v1/workspaces?external_id=…`, {
    param: 'external_id',
    ...(id ? { fields: { workspace_id: id } } : {}),
  });
}

export function createWorkspacesService(deps: WorkspacesDeps) {
  const { db, repo } = deps;

  /**
   * Runs a write that may meet the external id's unique index. The index is what makes two concurrent
   * creates with one external id safe (no check-then-insert can be); the loser's transaction is rolled
   * back whole, then the winner (committed by then) is looked up to name it.
   */
  async function claimingExternalId<T>(externalId: string | null | undefined, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (typeof externalId !== 'string' || !isExternalIdTaken(error)) throw error;
      throw externalIdTaken(externalId, await repo.findWorkspaceByExternalId(db, externalId));
    }
  }

  /** Inserts a workspace in the caller's transaction, with the installation's default ceiling. */
  function insertWorkspace(ex: Executor, input: WorkspaceInput): Promise<Workspace> {
    return repo.insertWorkspace(ex, {
      id: newId('ws'),
      name: input.name,
      ceiling_per_minute: deps.defaultCeilingPerMinute,
      ceiling_per_hour: deps.defaultCeilingPerMinute * 60,
      external_id: input.external_id,
      metadata: input.metadata,
    });
  }

  return {
    insertWorkspace,

    async createWorkspace(input: WorkspaceInput, caller: WorkspaceCaller, context: ActorContext): Promise<WorkspaceObject> {
      refuseBackendFields(caller, input);
      if (caller.type === 'service_key' && caller.workspaceIds !== null) {
        throw new AppError('insufficient_permission', 'This service key is limited to some workspaces, so it could never reach a new one: create workspaces with a key that has no workspace limit.', {
          param: 'workspaces:write',
        });
      }
      const created = await claimingExternalId(input.external_id, () =>
        db.transaction().execute(async (tx) => {
          const workspace = await insertWorkspace(tx, input);
          if (caller.type === 'user') await repo.insertMembership(tx, { workspace_id: workspace.id, user_id: caller.userId, role: 'owner' });
          await recordManagementEvent(tx, context, {
            workspaceId: workspace.id,
            action: 'workspace.create',
            target: { type: 'workspace', id: workspace.id },
            details: { name: workspace.name, external_id: workspace.external_id },
          });
          return workspace;
        }),
      );
      return presentWorkspace(created);
    },

    async listWorkspaces(caller: WorkspaceCaller, query: PageRequest & { external_id?: string | undefined }) {
      const filter = caller.type === 'user' ? { managerId: caller.userId } : { reach: caller.workspaceIds };
      const rows = await repo.listWorkspaces(db, filter, { externalId: query.external_id, cursor: query.cursor, size: fetchSize(query) });
      return toPage(rows, query, presentWorkspace);
    },

    /** The caller's reach was checked by workspace-scope before this runs. */
    async getWorkspace(workspaceId: string): Promise<WorkspaceObject> {
      const workspace = await repo.findWorkspace(db, workspaceId);
      if (!workspace) throw notFound('workspace');
      return presentWorkspace(workspace);
    },

    async updateWorkspace(workspaceId: string, changes: WorkspaceChanges, caller: WorkspaceCaller, context: ActorContext): Promise<WorkspaceObject> {
      refuseBackendFields(caller, changes);
      const updated = await claimingExternalId(changes.external_id, () =>
        db.transaction().execute(async (tx) => {
          if (!(await repo.lockWorkspace(tx, workspaceId))) throw notFound('workspace');
          const before = await repo.findWorkspace(tx, workspaceId);
          if (!before) throw notFound('workspace');
          const changed = changedFields(before, changes);
          if (changed.length === 0) return before;
          const after = await repo.updateWorkspace(tx, workspaceId, Object.fromEntries(changed.map((field) => [field, changes[field]])));
          if (!after) throw notFound('workspace');
          await recordManagementEvent(tx, context, {
            workspaceId,
            action: 'workspace.update',
            target: { type: 'workspace', id: workspaceId },
            details: { changed },
          });
          return after;
        }),
      );
      if (changes.external_id !== undefined && deps.onKeyChanged) {
        const keys = await db.selectFrom('api_keys').select('id').where('workspace_id', '=', workspaceId).where('revoked_at', 'is', null).execute();
        for (const { id } of keys) await deps.onKeyChanged(id);
      }
      return presentWorkspace(updated);
    },
  };
}

/** The names of the fields a PATCH really changes (the same value sent again is no change, and no log entry). */
function changedFields(before: Workspace, changes: WorkspaceChanges): Array<keyof WorkspaceChanges> {
  const changed: Array<keyof WorkspaceChanges> = [];
  if (changes.name !== undefined && changes.name !== before.name) changed.push('name');
  if (changes.external_id !== undefined && changes.external_id !== before.external_id) changed.push('external_id');
  if (changes.metadata !== undefined && canonicalJson(changes.metadata) !== canonicalJson(before.metadata)) changed.push('metadata');
  return changed;
}

/** JSON with every object's keys sorted: jsonb keeps keys in its own order, so plain JSON.stringify would differ. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

export type WorkspacesService = ReturnType<typeof createWorkspacesService>;
