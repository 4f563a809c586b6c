/** Newer, Refresh, Older: a list of audit events is paged by cursor, newest first. */
export function AuditPager({
  hasNewer,
  nextCursor,
  onNewer,
  onRefresh,
  onOlder,
}: {
  hasNewer: boolean;
  nextCursor: string | null;
  onNewer: () => void;
  onRefresh: () => void;
  onOlder: (cursor: string) => void;
}) {
  return (
    <div className="pager">
      <button type="button" className="secondary" disabled={!hasNewer} onClick={onNewer}>
        ← Newer
      </button>
      <button type="button" className="secondary" onClick={onRefresh}>
        Refresh
      </button>
      <button type="button" className="secondary" disabled={!nextCursor} onClick={() => nextCursor && onOlder(nextCursor)}>
        Older →
      </button>
    </div>
  );
}
