import type { Executor } from '../db/client.js';
import type { ApiRecordRow, Mode } from '../db/schema.js';

/** One view of one workspace: every query of the product API is narrowed by both. */
export interface View {
  workspaceId: string;
  mode: Mode;
}

export interface NewRecord {
  id: string;
  kind: string;
  data: Record<string, unknown>;
  parentId?: string | null;
  email?: string | null;
  externalId?: string | null;
  at: Date;
}

export interface RecordChanges {
  data: Record<string, unknown>;
  email?: string | null;
  externalId?: string | null;
  at: Date;
}

/** PostgreSQL's unique_violation: a concurrent writer took the same upsert key first. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

function toRow(view: View, record: NewRecord) {
  return {
    id: record.id,
    workspace_id: view.workspaceId,
    mode: view.mode,
    kind: record.kind,
    parent_id: record.parentId ?? null,
    email: record.email ?? null,
    external_id: record.externalId ?? null,
    data: JSON.stringify(record.data),
    created_at: record.at,
    updated_at: record.at,
  };
}

function inView(ex: Executor, view: View) {
  return ex.selectFrom('api_records').selectAll().where('workspace_id', '=', view.workspaceId).where('mode', '=', view.mode);
}

export function createRecordsRepo() {
  return {
    async insert(ex: Executor, view: View, record: NewRecord): Promise<ApiRecordRow> {
      return ex.insertInto('api_records').values(toRow(view, record)).returningAll().executeTakeFirstOrThrow();
    },

    /** Many rows in few statements (a transcript's traces); chunked to stay far below the bind-parameter limit. */
    async insertMany(ex: Executor, view: View, records: readonly NewRecord[]): Promise<void> {
      for (let start = 0; start < records.length; start += 500) {
        await ex.insertInto('api_records').values(records.slice(start, start + 500).map((r) => toRow(view, r))).execute();
      }
    },

    /** Newest first; `cursor` is the id of the last row of the previous page. */
    list(ex: Executor, view: View, kind: string, page: { limit: number; cursor?: string | undefined; parentId?: string }) {
      let query = inView(ex, view).where('kind', '=', kind);
      if (page.parentId !== undefined) query = query.where('parent_id', '=', page.parentId);
      if (page.cursor) query = query.where('id', '<', page.cursor);
      return query.orderBy('id', 'desc').limit(page.limit).execute();
    },

    find(ex: Executor, view: View, kind: string, id: string, options: { forUpdate?: boolean } = {}): Promise<ApiRecordRow | undefined> {
      let query = inView(ex, view).where('kind', '=', kind).where('id', '=', id);
      if (options.forUpdate) query = query.forUpdate();
      return query.executeTakeFirst();
    },

    /** The records of a kind whose upsert keys match either value (at most one per key, by the unique indexes). */
    findByKeys(ex: Executor, view: View, kind: string, keys: { email?: string | undefined; externalId?: string | undefined }) {
      return inView(ex, view)
        .where('kind', '=', kind)
        .where((eb) => {
          const matches = [];
          if (keys.externalId !== undefined) matches.push(eb('external_id', '=', keys.externalId));
          if (keys.email !== undefined) matches.push(eb('email', '=', keys.email));
          return eb.or(matches);
        })
        .forUpdate()
        .execute();
    },

    /** Whether the id names a record of that kind in this view (for references such as a ticket's contact_id). */
    async exists(ex: Executor, view: View, kind: string, id: string): Promise<boolean> {
      const row = await ex
        .selectFrom('api_records')
        .select('id')
        .where('workspace_id', '=', view.workspaceId)
        .where('mode', '=', view.mode)
        .where('kind', '=', kind)
        .where('id', '=', id)
        .executeTakeFirst();
      return row !== undefined;
    },

    async update(ex: Executor, view: View, id: string, changes: RecordChanges): Promise<ApiRecordRow> {
      return ex
        .updateTable('api_records')
        .set({
          data: JSON.stringify(changes.data),
          updated_at: changes.at,
          ...(changes.email === undefined ? {} : { email: changes.email }),
          ...(changes.externalId === undefined ? {} : { external_id: changes.externalId }),
        })
        .where('workspace_id', '=', view.workspaceId)
        .where('mode', '=', view.mode)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    async remove(ex: Executor, view: View, kind: string, id: string): Promise<boolean> {
      const result = await ex
        .deleteFrom('api_records')
        .where('workspace_id', '=', view.workspaceId)
        .where('mode', '=', view.mode)
        .where('kind', '=', kind)
        .where('id', '=', id)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    async countKind(ex: Executor, view: View, kind: string): Promise<number> {
      const row = await ex
        .selectFrom('api_records')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('workspace_id', '=', view.workspaceId)
        .where('mode', '=', view.mode)
        .where('kind', '=', kind)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

export type RecordsRepo = ReturnType<typeof createRecordsRepo>;
