import type { Db, Executor } from '../db/client.js';
import type { ProductEventType } from '../events/event-types.js';
import { emitEvent } from '../events/outbox.js';
import type { ApiRecordRow } from '../db/schema.js';
import { invalidRequest, notFound } from '../http/errors.js';
import { newId } from '../ids.js';
import { fetchSize, toPage, type Page, type PageRequest } from '../http/pagination.js';
import type { RecordsRepo, View } from './records-repo.js';
import type { ResourceSpec } from './resources.js';

export interface RecordsDeps {
  db: Db;
  repo: RecordsRepo;
  now: () => Date;
}

/** What every object of the product API looks like on the wire: its fields between id/object and the timestamps. */
export type ApiObject = { id: string; object: string; created_at: string; updated_at: string } & Record<string, unknown>;

export interface Deleted {
  id: string;
  object: string;
  deleted: true;
}

export function presentRecord(row: ApiRecordRow): ApiObject {
  return {
    id: row.id,
    object: row.kind,
    ...row.data,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/**
 * The generic operations every resource spec is built from. Each query is narrowed to the caller's view
 * (workspace and mode) in the repository, so another workspace's or the other mode's ids are simply not found.
 */
export function createRecordsService(deps: RecordsDeps) {
  const { db, repo } = deps;

  /** The event a write sends to the view's webhooks, in the write's transaction: both or neither. */
  async function emit(ex: Executor, view: View, type: ProductEventType | undefined, object: ApiObject): Promise<void> {
    if (type) await emitEvent(ex, { type, workspaceId: view.workspaceId, mode: view.mode, data: { object } });
  }

  async function load(ex: Executor, view: View, spec: ResourceSpec, id: string, forUpdate = false): Promise<ApiRecordRow> {
    const row = await repo.find(ex, view, spec.object, id, { forUpdate });
    if (!row) throw notFound(spec.noun);
    return row;
  }

  /** A reference to an object that is not in the caller's view is a mistake in the request, said as such. */
  async function checkReferences(ex: Executor, view: View, references: Record<string, string> | undefined, fields: Record<string, unknown>, path = '') {
    for (const [field, kind] of Object.entries(references ?? {})) {
      const value = fields[field];
      if (typeof value === 'string' && !(await repo.exists(ex, view, kind, value))) {
        throw invalidRequest(`${path}${field}`, `${path}${field} names no ${kind.replaceAll('_', ' ')} in this ${view.mode} view.`);
      }
    }
  }

  return {
    checkReferences,
    emit,

    async list(view: View, spec: ResourceSpec, page: PageRequest): Promise<Page<ApiObject>> {
      const rows = await repo.list(db, view, spec.object, { limit: fetchSize(page), cursor: page.cursor });
      return toPage(rows, page, presentRecord);
    },

    /** The children of one object (a conversation's traces); the parent answers 404 when it is not in the view. */
    async listChildren(view: View, parent: ResourceSpec, parentId: string, kind: string, page: PageRequest): Promise<Page<ApiObject>> {
      await load(db, view, parent, parentId);
      const rows = await repo.list(db, view, kind, { limit: fetchSize(page), cursor: page.cursor, parentId });
      return toPage(rows, page, presentRecord);
    },

    async get(view: View, spec: ResourceSpec, id: string): Promise<ApiObject> {
      return presentRecord(await load(db, view, spec, id));
    },

    async insert(view: View, spec: ResourceSpec, fields: Record<string, unknown>): Promise<ApiObject> {
      await checkReferences(db, view, spec.references, fields);
      const at = deps.now();
      return db.transaction().execute(async (tx) => {
        const object = presentRecord(await repo.insert(tx, view, { id: newId(spec.prefix, at.getTime()), kind: spec.object, data: fields, at }));
        await emit(tx, view, spec.emits?.created, object);
        return object;
      });
    },

    /** A shallow merge: the fields the PATCH names replace the stored ones (metadata and lists as a whole). */
    async update(view: View, spec: ResourceSpec, id: string, changes: Record<string, unknown>): Promise<ApiObject> {
      return db.transaction().execute(async (tx) => {
        // The row lock makes two concurrent PATCHes of one object apply one after the other, neither lost.
        const row = await load(tx, view, spec, id, true);
        await checkReferences(tx, view, spec.references, changes);
        const updated = presentRecord(await repo.update(tx, view, id, { data: { ...row.data, ...changes }, at: deps.now() }));
        await emit(tx, view, spec.emits?.updated, updated);
        return updated;
      });
    },

    async remove(view: View, spec: ResourceSpec, id: string): Promise<Deleted> {
      if (!(await repo.remove(db, view, spec.object, id))) throw notFound(spec.noun);
      return { id, object: spec.object, deleted: true };
    },
  };
}

export type RecordsService = ReturnType<typeof createRecordsService>;
