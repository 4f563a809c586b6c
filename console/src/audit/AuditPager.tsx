import { useState } from 'react';

/** Which page of a cursor-paged list is shown: the cursors of the pages before it ("Newer" goes back one). */
export function useCursorPages() {
  const [cursors, setCursors] = useState<string[]>([]);
  return {
    cursor: cursors.at(-1),
    hasNewer: cursors.length > 0,
    reset: () => setCursors([]),
    newer: () => setCursors((before) => before.slice(0, -1)),
    older: (next: string) => setCursors((before) => [...before, next]),
  };
}

export type CursorPages = ReturnType<typeof useCursorPages>;

/** Newer, Refresh, Older: a list of audit events is paged by cursor, newest first. */
export function AuditPager({ pages, nextCursor, onRefresh }: { pages: CursorPages; nextCursor: string | null; onRefresh: () => void }) {
  return (
    <div className="pager">
      <button type="button" className="secondary" disabled={!pages.hasNewer} onClick={pages.newer}>
        ← Newer
      </button>
      <button type="button" className="secondary" onClick={onRefresh}>
        Refresh
      </button>
      <button type="button" className="secondary" disabled={!nextCursor} onClick={() => nextCursor && pages.older(nextCursor)}>
        Older →
      </button>
    </div>
  );
}
