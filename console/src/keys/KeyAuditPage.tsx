import { useState } from 'react';
import { api } from '../api/client.ts';
import { AuditEventDialog } from '../audit/AuditEventDialog.tsx';
import { AuditPager, useCursorPages } from '../audit/AuditPager.tsx';
import { AuditTable } from '../audit/AuditTable.tsx';
import { LoadError } from '../session/RoleRequired.tsx';
import { useSession } from '../session/session.ts';
import { Link } from '../ui/Link.tsx';
import { Empty, Loading } from '../ui/States.tsx';
import { useLoad } from '../ui/useLoad.ts';
import { KeyHeader } from './KeyHeader.tsx';

/** A key's calls, newest first, each in full on Details; the audit log page filters and exports them. */
export function KeyAuditPage({ keyId }: { keyId: string }) {
  const { workspace } = useSession();
  const [key, reloadKey] = useLoad(() => api.getKey(workspace.id, keyId), [workspace.id, keyId]);
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const [events, reload] = useLoad(() => api.auditEvents(workspace.id, { key_id: keyId }, cursor), [workspace.id, keyId, cursor]);
  const [open, setOpen] = useState<string | null>(null);

  if (key.state === 'loading') return <Loading what="Loading the key" />;
  if (key.state === 'error') return <LoadError error={key.error} message={key.message} onRetry={reloadKey} />;
  return (
    <section className="key-audit" aria-labelledby="key-title">
      <KeyHeader apiKey={key.data} tab="audit" />
      <div className="card">
        <div className="card-head">
          <h2>Calls with this key</h2>
          <Link to={`/audit?key_id=${encodeURIComponent(keyId)}`}>Filter and export in the audit log</Link>
        </div>
        {events.state === 'loading' && <Loading what="Loading calls" />}
        {events.state === 'error' && <LoadError error={events.error} message={events.message} onRetry={reload} />}
        {events.state === 'ready' &&
          (events.data.data.length === 0 && !pages.hasNewer ? (
            <Empty>
              <p>No calls with this key yet.</p>
              <p className="muted">Each request made with it shows here a moment later: its endpoint, status, latency and source IP.</p>
            </Empty>
          ) : (
            <AuditTable events={events.data.data} onOpen={setOpen} />
          ))}
      </div>
      {events.state === 'ready' && (
        <AuditPager pages={pages} nextCursor={events.data.has_more ? events.data.next_cursor : null} onRefresh={reload} />
      )}
      {open && <AuditEventDialog eventId={open} onClose={() => setOpen(null)} />}
    </section>
  );
}
