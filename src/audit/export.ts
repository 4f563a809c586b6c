import { presentAuditEvent } from './audit-present.js';
import { EVENT_COLUMNS, type AuditEventListRow } from './audit-search-repo.js';

export type ExportFormat = 'ndjson' | 'csv';

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/** `latchkey-audit-ws_…-20260501T120000Z.csv`: the workspace and the moment of the export. */
export function exportFilename(workspaceId: string, at: Date, format: ExportFormat): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  // The workspace id is a real one (the scope hook found it), but a filename is no place to trust input.
  return `latchkey-audit-${workspaceId.replace(/[^A-Za-z0-9_-]/g, '')}-${stamp}.${format}`;
}

/** The CSV's columns: the listed event's, `key` spread into three columns. */
const CSV_COLUMNS = EVENT_COLUMNS;

/**
 * A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(…), +cmd|…, @SUM…):
 * the user agent, path and key name are the caller's text, so such cells are defused with a leading quote,
 * as OWASP advises for CSV injection.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell per RFC 4180: quoted (with doubled quotes) when it holds a comma, a quote or a line break. */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function csvLine(row: AuditEventListRow): string {
  return `${CSV_COLUMNS.map((column) => {
    const value = row[column];
    return csvCell(value instanceof Date ? value.toISOString() : value);
  }).join(',')}\r\n`;
}

/** One event object per line, the same object as the search's; JSON escapes every line break inside. */
export function ndjsonLine(row: AuditEventListRow): string {
  return `${JSON.stringify(presentAuditEvent(row))}\n`;
}

/** The export's text, one chunk per batch of rows, so that only a batch is ever held in memory. */
export async function* encodeExport(batches: AsyncIterable<AuditEventListRow[]>, format: ExportFormat): AsyncGenerator<string> {
  if (format === 'csv') yield csvHeader();
  const line = format === 'csv' ? csvLine : ndjsonLine;
  for await (const batch of batches) {
    if (batch.length > 0) yield batch.map(line).join('');
  }
}
