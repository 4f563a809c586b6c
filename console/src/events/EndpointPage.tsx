import { useState } from 'react';
import { api, messageOf } from '../api/client.ts';
import type { EventEndpointWithSecret } from '../api/types.ts';
import { LoadError } from '../session/RoleRequired.tsx';
import { useConsoleSession } from '../session/session.ts';
import { ConfirmDialog } from '../ui/ConfirmDialog.tsx';
import { navigate } from '../ui/router.ts';
import { Link } from '../ui/Link.tsx';
import { Loading } from '../ui/States.tsx';
import { Countdown, ExactTime } from '../ui/Time.tsx';
import { useLoad } from '../ui/useLoad.ts';
import { DeliveryLog } from './DeliveryLog.tsx';
import { EndpointDialog } from './EndpointDialog.tsx';
import { DisabledNote, EndpointBadge } from './EndpointStatus.tsx';
import { eventsText } from './event-types.ts';
import { SigningSecretDialog } from './SigningSecretDialog.tsx';

type Pending = 'edit' | 'rotate' | 'delete' | 'disable' | null;

/** Settings → Events → [endpoint]: its settings, test event, secret rotation, delete, and its delivery log. */
export function EndpointPage({ endpointId }: { endpointId: string }) {
  const { workspace } = useConsoleSession();
  const [loaded, reload] = useLoad(() => api.getEndpoint(workspace.id, endpointId), [workspace.id, endpointId]);
  const [pending, setPending] = useState<Pending>(null);
  const [secret, setSecret] = useState<EventEndpointWithSecret | null>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');
  // The log reloads when a test event is sent or a delivery retried.
  const [logVersion, setLogVersion] = useState(0);

  if (loaded.state === 'loading') return <Loading what="Loading the endpoint" />;
  if (loaded.state === 'error') return <LoadError error={loaded.error} message={loaded.message} onRetry={reload} />;
  const endpoint = loaded.data;

  const act = async (what: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setError('');
    setStatus('');
    try {
      await what();
      setStatus(done);
      reload();
      setLogVersion((v) => v + 1);
    } catch (caught) {
      setError(messageOf(caught));
    }
    setBusy(false);
  };
  const sendTest = () => act(() => api.sendTestEvent(workspace.id, endpoint.id), 'Test event sent: it shows in the log below.');
  const enable = () => act(() => api.updateEndpoint(workspace.id, endpoint.id, { enabled: true }), 'Enabled: new events are sent to it again.');

  return (
    <section aria-labelledby="endpoint-title">
      <p className="breadcrumb">
        <Link to="/events">Events</Link> / Endpoint
      </p>
      <div className="page-head">
        <h1 id="endpoint-title" className="endpoint-url">
          {endpoint.url} <EndpointBadge endpoint={endpoint} />
        </h1>
      </div>
      {endpoint.description && <p className="lede">{endpoint.description}</p>}
      <dl className="facts">
        <div>
          <dt>Events</dt>
          <dd>{eventsText(endpoint.events)}</dd>
        </div>
        <div>
          <dt>Added</dt>
          <dd>
            <ExactTime iso={endpoint.created_at} />
          </dd>
        </div>
        {endpoint.secret_rotation_ends_at && new Date(endpoint.secret_rotation_ends_at).getTime() > Date.now() && (
          <div>
            <dt>Previous secret signs for</dt>
            <dd>
              <Countdown iso={endpoint.secret_rotation_ends_at} />
            </dd>
          </div>
        )}
      </dl>
      <DisabledNote endpoint={endpoint} busy={busy} onEnable={() => void enable()} />
      <div className="actions start endpoint-actions">
        <button type="button" className="primary" onClick={() => void sendTest()} disabled={busy}>
          Send test event
        </button>
        <button type="button" className="secondary" onClick={() => setPending('edit')}>
          Edit
        </button>
        <button type="button" className="secondary" onClick={() => setPending('rotate')}>
          Rotate secret
        </button>
        {endpoint.enabled && (
          <button type="button" className="secondary" onClick={() => setPending('disable')}>
            Disable
          </button>
        )}
        <button type="button" className="secondary danger-text" onClick={() => setPending('delete')}>
          Delete
        </button>
      </div>
      <p className="hint" role="status" aria-live="polite">
        {status}
      </p>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}

      <DeliveryLog endpointId={endpoint.id} version={logVersion} />

      {pending === 'edit' && (
        <EndpointDialog
          endpoint={endpoint}
          onCancel={() => setPending(null)}
          onSaved={() => {
            setPending(null);
            setStatus('Saved.');
            reload();
          }}
        />
      )}
      {pending === 'rotate' && (
        <ConfirmDialog
          title="Rotate the signing secret?"
          confirmLabel="Rotate secret"
          danger={false}
          onCancel={() => setPending(null)}
          onConfirm={async () => {
            const rotated = await api.rotateEndpointSecret(workspace.id, endpoint.id);
            setPending(null);
            setSecret(rotated);
            reload();
          }}
        >
          <p>Latchkey makes a new signing secret and shows it once.</p>
          <p>
            For the next <strong>24 hours</strong> every event is signed with both the old and the new secret (two <code>v1=</code> in the Latchkey-Signature header), so
            your receiver keeps accepting events while you swap the secret in. Then the old secret stops signing.
          </p>
        </ConfirmDialog>
      )}
      {pending === 'disable' && (
        <ConfirmDialog
          title="Disable this endpoint?"
          confirmLabel="Disable"
          onCancel={() => setPending(null)}
          onConfirm={async () => {
            await api.updateEndpoint(workspace.id, endpoint.id, { enabled: false });
            setPending(null);
            setStatus('Disabled: it receives no events until it is enabled again.');
            reload();
          }}
        >
          <p>
            <code className="created-by">{endpoint.url}</code> receives no events while it is disabled; events that happen meanwhile are not sent to it later.
          </p>
        </ConfirmDialog>
      )}
      {pending === 'delete' && (
        <ConfirmDialog
          title="Delete this endpoint?"
          confirmLabel="Delete endpoint"
          onCancel={() => setPending(null)}
          onConfirm={async () => {
            await api.deleteEndpoint(workspace.id, endpoint.id);
            navigate('/events');
          }}
        >
          <p>
            <code className="created-by">{endpoint.url}</code> stops receiving events at once, and its pending deliveries and delivery log go with it.
          </p>
          <p>
            <strong>This cannot be undone.</strong> To receive events there again, add it again (with a new signing secret).
          </p>
        </ConfirmDialog>
      )}
      {secret && <SigningSecretDialog endpoint={secret} rotated onClose={() => setSecret(null)} />}
    </section>
  );
}
