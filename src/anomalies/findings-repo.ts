import { sql } from 'kysely';
import type { Executor } from '../db/client.js';
import type { FindingStatus } from '../db/schema.js';
import { newId } from '../ids.js';

export type { FindingStatus };
/** In the list's order: open first. */
export const FINDING_STATUSES = ['open', 'acknowledged', 'resolved'] as const satisfies readonly FindingStatus[];

export interface NewFinding {
  workspaceId: string;
  keyId: string | null;
  rule: string;
  severity: 'low' | 'medium' | 'high';
  fingerprint: string;
  summary: string;
  evidence: unknown;
  windowStart: Date;
  windowEnd: Date;
}

/** A stored finding with what the API shows of its key (null once the key is gone). */
export interface FindingRow {
  id: string;
  workspace_id: string;
  rule: string;
  severity: 'low' | 'medium' | 'high';
  status: FindingStatus;
  summary: string;
  evidence: Record<string, unknown>;
  window_start: Date;
  window_end: Date;
  detected_at: Date;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
  key_id: string | null;
  key_name: string | null;
  key_prefix: string | null;
}

export interface FindingFilter {
  status?: FindingStatus | undefined;
  keyId?: string | undefined;
}

/** Open findings first, then acknowledged, then resolved; newest first within each (ids sort by time). */
const statusRank = sql<number>`case anomaly_findings.status when 'open' then 0 when 'acknowledged' then 1 else 2 end`;

function findings(ex: Executor) {
  return ex
    .selectFrom('anomaly_findings')
    .leftJoin('api_keys', 'api_keys.id', 'anomaly_findings.api_key_id')
    .select([
      'anomaly_findings.id',
      'anomaly_findings.workspace_id',
      'anomaly_findings.rule',
      'anomaly_findings.severity',
      'anomaly_findings.status',
      'anomaly_findings.summary',
      'anomaly_findings.evidence',
      'anomaly_findings.window_start',
      'anomaly_findings.window_end',
      'anomaly_findings.detected_at',
      'anomaly_findings.acknowledged_at',
      'anomaly_findings.acknowledged_by',
      'anomaly_findings.resolved_at',
      'anomaly_findings.resolved_by',
      'api_keys.id as key_id',
      'api_keys.name as key_name',
      'api_keys.prefix as key_prefix',
    ]);
}

export function createFindingsRepo() {
  return {
    /** Stores a finding unless its fingerprint is stored already: its id when this call stored it, else null. */
    async insertIfNew(ex: Executor, finding: NewFinding, at: Date): Promise<string | null> {
      const row = await ex
        .insertInto('anomaly_findings')
        .values({
          id: newId('anf', at.getTime()),
          workspace_id: finding.workspaceId,
          api_key_id: finding.keyId,
          rule: finding.rule,
          severity: finding.severity,
          fingerprint: finding.fingerprint,
          summary: finding.summary,
          evidence: JSON.stringify(finding.evidence),
          window_start: finding.windowStart,
          window_end: finding.windowEnd,
          detected_at: at,
        })
        .onConflict((oc) => oc.column('fingerprint').doNothing())
        .returning('id')
        .executeTakeFirst();
      return row?.id ?? null;
    },

    /** Which of these fingerprints are stored already: the detector skips them without a write. */
    async storedFingerprints(ex: Executor, fingerprints: readonly string[]): Promise<Set<string>> {
      if (fingerprints.length === 0) return new Set();
      const rows = await ex.selectFrom('anomaly_findings').select('fingerprint').where('fingerprint', 'in', fingerprints).execute();
      return new Set(rows.map((r) => r.fingerprint));
    },

    async find(ex: Executor, workspaceId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<FindingRow | undefined> {
      let query = findings(ex).where('anomaly_findings.workspace_id', '=', workspaceId).where('anomaly_findings.id', '=', id);
      if (options.forUpdate) query = query.forUpdate('anomaly_findings');
      return query.executeTakeFirst();
    },

    /**
     * A page of the workspace's findings in the list's order, after the finding `after` (the previous
     * page's last). Keyset on (status rank, id): a finding whose status changed between two pages may
     * be shown twice or not at all, as in any list being edited while it is read.
     */
    async list(ex: Executor, workspaceId: string, filter: FindingFilter, page: { after?: { status: FindingStatus; id: string } | undefined; limit: number }): Promise<FindingRow[]> {
      let query = findings(ex).where('anomaly_findings.workspace_id', '=', workspaceId);
      if (filter.status !== undefined) query = query.where('anomaly_findings.status', '=', filter.status);
      if (filter.keyId !== undefined) query = query.where('anomaly_findings.api_key_id', '=', filter.keyId);
      if (page.after) {
        const rank = (FINDING_STATUSES as readonly FindingStatus[]).indexOf(page.after.status);
        const id = page.after.id;
        query = query.where((eb) => eb.or([eb(statusRank, '>', rank), eb.and([eb(statusRank, '=', rank), eb('anomaly_findings.id', '<', id)])]));
      }
      return query.orderBy(statusRank).orderBy('anomaly_findings.id', 'desc').limit(page.limit).execute();
    },

    async openCount(ex: Executor, workspaceId: string, keyId: string | undefined): Promise<number> {
      let query = ex
        .selectFrom('anomaly_findings')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('workspace_id', '=', workspaceId)
        .where('status', '=', 'open');
      if (keyId !== undefined) query = query.where('api_key_id', '=', keyId);
      return Number((await query.executeTakeFirstOrThrow()).count);
    },

    async setStatus(ex: Executor, id: string, change: { status: FindingStatus; at: Date; by: string }): Promise<void> {
      const { status, at, by } = change;
      await ex
        .updateTable('anomaly_findings')
        .set(
          status === 'open'
            ? { status, acknowledged_at: null, acknowledged_by: null, resolved_at: null, resolved_by: null }
            : status === 'acknowledged'
              ? { status, acknowledged_at: at, acknowledged_by: by, resolved_at: null, resolved_by: null }
              : { status, resolved_at: at, resolved_by: by },
        )
        .where('id', '=', id)
        .execute();
    },
  };
}

export type FindingsRepo = ReturnType<typeof createFindingsRepo>;
