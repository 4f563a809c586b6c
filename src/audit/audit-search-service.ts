import type { Db } from '../db/client.js';
import { invalidRequest, notFound } from '../http/errors.js';
import { fetchSize, toPage, type Page, type PageRequest } from '../http/pagination.js';
import { iso } from '../http/schemas.js';
import { presentAuditEvent, presentManagementEvent, type AuditEventObject } from './audit-present.js';
import type { AuditEventFilter, AuditEventListRow, AuditSearchRepo, ManagementEventFilter } from './audit-search-repo.js';

export interface AuditSearchDeps {
  db: Db;
  repo: AuditSearchRepo;
  now: () => Date;
  /** How long payloads are kept (AUDIT_PAYLOAD_DAYS). */
  payloadDays: number;
}

/** Rows per export query: big enough that 100,000 events take 100 queries, small enough to hold at once. */
export const EXPORT_BATCH_SIZE = 1000;

const DAY_MS = 86_400_000;

export type AuditEventDetail = AuditEventObject & {
  payload: Record<string, unknown> | null;
  payload_expired: boolean;
  payload_expires_at: string | null;
  payload_note: string | null;
};

function checkRange(filter: { from?: Date | undefined; to?: Date | undefined }): void {
  if (filter.from && filter.to && filter.from >= filter.to) throw invalidRequest('to', 'to must be later than from.');
}

function daysText(days: number): string {
  return days === 1 ? '1 day' : `${days} days`;
}

export function createAuditSearchService(deps: AuditSearchDeps) {
  const { db, repo } = deps;

  return {
    async searchEvents(workspaceId: string, filter: AuditEventFilter, page: PageRequest): Promise<Page<AuditEventObject>> {
      checkRange(filter);
      const rows = await repo.listEvents(db, workspaceId, filter, { before: page.cursor, limit: fetchSize(page) });
      return toPage(rows, page, presentAuditEvent);
    },

    /** The event, and its payload while it is kept: younger than payloadDays by our clock, and not yet purged. */
    async getEvent(workspaceId: string, eventId: string): Promise<AuditEventDetail> {
      const row = await repo.findEvent(db, workspaceId, eventId);
      if (!row) throw notFound('audit event');
      const expiresAt = new Date(row.created_at.getTime() + deps.payloadDays * DAY_MS);
      const young = deps.now() < expiresAt;
      // A young event without a payload row is a call that had neither query string nor body: the writer
      // stores no row for it (audit-capture), and retention never drops a payload before its time.
      const kept = young ? ((await repo.findPayload(db, row)) ?? { query: {}, body: null }) : null;
      const note = young ? null : `Payloads are kept ${daysText(deps.payloadDays)}; this event is older.`;
      return {
        ...presentAuditEvent(row),
        payload: kept,
        payload_expired: kept === null,
        payload_expires_at: iso(expiresAt),
        payload_note: note,
      };
    },

    /**
     * The matching events as batches, newest first, by keyset paging (PGlite cannot stream a cursor, and a
     * long-lived cursor would pin a PostgreSQL connection for the whole download). The first batch is read
     * before this resolves, so that a failing query still answers with an error rather than a cut stream.
     */
    async exportEvents(workspaceId: string, filter: AuditEventFilter, options: { maxRows?: number | undefined } = {}): Promise<AsyncGenerator<AuditEventListRow[]>> {
      checkRange(filter);
      const maxRows = options.maxRows ?? Number.POSITIVE_INFINITY;
      const read = (before: string | undefined, sent: number) =>
        repo.listEvents(db, workspaceId, filter, { before, limit: Math.min(EXPORT_BATCH_SIZE, maxRows - sent) });
      const first = await read(undefined, 0);
      return (async function* batches() {
        let batch = first;
        let sent = 0;
        while (batch.length > 0) {
          yield batch;
          sent += batch.length;
          if (batch.length < EXPORT_BATCH_SIZE || sent >= maxRows) return;
          batch = await read(batch.at(-1)?.id, sent);
        }
      })();
    },

    async searchManagementEvents(workspaceId: string, filter: ManagementEventFilter, page: PageRequest) {
      checkRange(filter);
      const rows = await repo.listManagementEvents(db, workspaceId, filter, { before: page.cursor, limit: fetchSize(page) });
      return toPage(rows, page, presentManagementEvent);
    },
  };
}

export type AuditSearchService = ReturnType<typeof createAuditSearchService>;
