import { api } from '../api/client.ts';
import { useSession } from '../session/session.ts';
import { Dialog } from '../ui/Dialog.tsx';
import { exactTime } from '../ui/format.ts';
import { ErrorNote, Loading } from '../ui/States.tsx';
import { useLoad } from '../ui/useLoad.ts';

/** One event in full, with its payload while it is kept (7 days by default). */
export function AuditEventDialog({ eventId, onClose }: { eventId: string; onClose: () => void }) {
  const { workspace } = useSession();
  const [loaded, reload] = useLoad(() => api.auditEvent(workspace.id, eventId), [workspace.id, eventId]);
  return (
    <Dialog title="Audit event" onDismiss={onClose} wide>
      {loaded.state === 'loading' && <Loading what="Loading the event" />}
      {loaded.state === 'error' && <ErrorNote message={loaded.message} onRetry={reload} />}
      {loaded.state === 'ready' && (
        <>
          <dl className="facts">
            {(
              [
                ['Time', loaded.data.created_at ? exactTime(loaded.data.created_at) : '—'],
                ['Key', loaded.data.key ? `${loaded.data.key.name ?? loaded.data.key.id} (v${loaded.data.key.secret_version ?? '?'})` : 'no key'],
                ['Request', `${loaded.data.method} ${loaded.data.path}`],
                ['Route', loaded.data.route ?? '—'],
                ['Status', `${loaded.data.status}${loaded.data.error_code ? ` ${loaded.data.error_code}` : ''}`],
                ['Latency', loaded.data.upstream_ms === null ? `${loaded.data.latency_ms} ms` : `${loaded.data.latency_ms} ms (upstream ${loaded.data.upstream_ms} ms)`],
                ['Source IP', loaded.data.source_ip ?? '—'],
                ['User agent', loaded.data.user_agent ?? '—'],
                ['Request id', loaded.data.request_id],
                ['Argument hash', loaded.data.argument_hash ?? '—'],
              ] as const
            ).map(([term, value]) => (
              <div key={term}>
                <dt>{term}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
          <h3>Payload</h3>
          {!loaded.data.payload ? (
            <p className="note">
              {payloadGone(loaded.data.payload_expires_at)
                ? `Payload expired. ${loaded.data.payload_note ?? ''}`
                : 'No payload is stored for this event. A request without a query string or body has none.'}
            </p>
          ) : (
            <>
              <pre className="payload">{JSON.stringify(loaded.data.payload, null, 2)}</pre>
              {loaded.data.payload_expires_at && <p className="hint">Kept until {exactTime(loaded.data.payload_expires_at)}.</p>}
            </>
          )}
        </>
      )}
      <div className="actions">
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}

/** Past its keeping time, a payload has expired; before it, a missing one is a request that had none. */
function payloadGone(expiresAt: string | null): boolean {
  return expiresAt === null || new Date(expiresAt).getTime() <= Date.now();
}
