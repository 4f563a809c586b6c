import { z } from 'zod';
import { cursor, listLimit } from './schemas.js';

/** The query every list of the product API takes: `limit` 1–100 (default 20) and the last id of the previous page. */
export const pageQuery = z.object({
  limit: listLimit,
  cursor,
});

export type PageRequest = z.infer<typeof pageQuery>;

export interface Page<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

/**
 * Repositories fetch `limit + 1` rows, newest first (ids sort by creation time): the extra row only tells
 * whether another page exists, and the last row shown is the next page's cursor.
 */
export function fetchSize(page: PageRequest): number {
  return page.limit + 1;
}

export function toPage<Row extends { id: string }, T>(rows: Row[], page: PageRequest, present: (row: Row) => T): Page<T> {
  const shown = rows.slice(0, page.limit);
  const hasMore = rows.length > page.limit;
  return {
    object: 'list',
    data: shown.map(present),
    has_more: hasMore,
    next_cursor: hasMore ? (shown.at(-1)?.id ?? null) : null,
  };
}
