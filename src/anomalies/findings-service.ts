import { actorId, recordManagementEvent, type ActorContext } from '../audit/management-log.js';
import type { Db } from '../db/client.js';
import { invalidRequest, notFound } from '../http/errors.js';
import { fetchSize, toPage, type PageRequest } from '../http/pagination.js';
import type { KeysRepo } from '../keys/keys-repo.js';
import { presentFinding } from './findings-present.js';
import type { FindingStatus, FindingsRepo } from './findings-repo.js';

export interface FindingsDeps {
  db: Db;
  repo: FindingsRepo;
  keys: Pick<KeysRepo, 'findKey'>;
  now: () => Date;
}

export interface FindingsQuery extends PageRequest {
  /** `all` (the default) lists every status, open first. */
  status: FindingStatus | 'all';
  key_id?: string | undefined;
}

/** The stored anomaly findings of a workspace (the detector writes them): read, acknowledged, resolved, reopened. */
export function createFindingsService(deps: FindingsDeps) {
  const { db, repo } = deps;

  return {
    /** A page of findings, open first, with how many are open (of the key, when one is asked for): the console's badge. */
    async list(workspaceId: string, query: FindingsQuery) {
      if (query.key_id !== undefined && !(await deps.keys.findKey(db, workspaceId, query.key_id))) throw notFound('API key');
      let after: { status: FindingStatus; id: string } | undefined;
      if (query.cursor !== undefined) {
        const previous = await repo.find(db, workspaceId, query.cursor);
        if (!previous) throw invalidRequest('cursor', 'cursor must be the next_cursor of a previous page.');
        after = { status: previous.status, id: previous.id };
      }
      const filter = { status: query.status === 'all' ? undefined : query.status, keyId: query.key_id };
      const [rows, openCount] = await Promise.all([
        repo.list(db, workspaceId, filter, { after, limit: fetchSize(query) }),
        repo.openCount(db, workspaceId, query.key_id),
      ]);
      return { ...toPage(rows, query, presentFinding), open_count: openCount };
    },

    /**
     * Acknowledges (someone is looking), resolves (dealt with) or reopens a finding, recorded in the
     * management log with the status it had. Setting the status it already has changes and records nothing.
     */
    async setStatus(workspaceId: string, findingId: string, status: FindingStatus, context: ActorContext) {
      return db.transaction().execute(async (tx) => {
        const current = await repo.find(tx, workspaceId, findingId, { forUpdate: true });
        if (!current) throw notFound('anomaly');
        if (current.status === status) return presentFinding(current);
        await repo.setStatus(tx, findingId, { status, at: deps.now(), by: actorId(context) });
        await recordManagementEvent(tx, context, {
          workspaceId,
          action: 'anomaly.status_change',
          target: { type: 'anomaly', id: findingId },
          details: { from: current.status, to: status, rule: current.rule, api_key_id: current.key_id },
        });
        const updated = await repo.find(tx, workspaceId, findingId);
        if (!updated) throw notFound('anomaly');
        return presentFinding(updated);
      });
    },
  };
}

export type FindingsService = ReturnType<typeof createFindingsService>;
