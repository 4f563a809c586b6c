import { useState } from 'react';
import { api, messageOf } from '../api/client.ts';
import type { EventEndpoint, EventEndpointWithSecret } from '../api/types.ts';
import { isRoleRefusal, LoadError, RoleRequired } from '../session/RoleRequired.tsx';
import { useConsoleSession } from '../session/session.ts';
import { Link } from '../ui/Link.tsx';
import { Empty, Loading } from '../ui/States.tsx';
import { RelativeTime } from '../ui/Time.tsx';
import { useLoad } from '../ui/useLoad.ts';
import { EndpointDialog } from './EndpointDialog.tsx';
import { DisabledNote, EndpointBadge } from './EndpointStatus.tsx';
import { eventsText } from './event-types.ts';
import { SigningSecretDialog } from './SigningSecretDialog.tsx';

export const endpointPage = (endpoint: Pick<EventEndpoint, 'id'>) => `/events/${encodeURIComponent(endpoint.id)}`;

/** Settings → Events: the workspace's webhook endpoints; each one's page has its deliveries and actions. */
export function EventsPage() {
  const { workspace } = useConsoleSession();
  const [endpoints, reload] = useLoad(() => api.listEndpoints(workspace.id), [workspace.id]);
  const [adding, setAdding] = useState(false);
  const [added, setAdded] = useState<EventEndpointWithSecret | null>(null);
  const [enabling, setEnabling] = useState('');
  const [error, setError] = useState('');

  const enable = async (endpoint: EventEndpoint) => {
    setEnabling(endpoint.id);
    setError('');
    try {
      await api.updateEndpoint(workspace.id, endpoint.id, { enabled: true });
      reload();
    } catch (caught) {
      setError(messageOf(caught));
    }
    setEnabling('');
  };

  if (endpoints.state === 'error' && isRoleRefusal(endpoints.error)) return <RoleRequired />;
  return (
    <section aria-labelledby="events-title">
      <div className="page-head">
        <div>
          <p className="breadcrumb">Settings</p>
          <h1 id="events-title">Events</h1>
        </div>
        <button type="button" className="primary" onClick={() => setAdding(true)}>
          + Add endpoint
        </button>
      </div>
      <p className="lede">
        Latchkey tells your systems what happens in <strong>{workspace.name}</strong>: keys created, rotated or revoked, anomalies found, members added. Each
        event is a signed POST to your endpoints, retried for 3 days until it is accepted.
      </p>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {endpoints.state === 'loading' && <Loading what="Loading endpoints" />}
      {endpoints.state === 'error' && <LoadError error={endpoints.error} message={endpoints.message} onRetry={reload} />}
      {endpoints.state === 'ready' &&
        (endpoints.data.data.length === 0 ? (
          <Empty>
            <p>No endpoints yet.</p>
            <p className="muted">Add one with + Add endpoint; its signing secret is shown once, right after.</p>
          </Empty>
        ) : (
          <ul className="card-list endpoint-list">
            {endpoints.data.data.map((endpoint) => (
              <li key={endpoint.id} className="card endpoint">
                <div className="card-head">
                  <h2 className="endpoint-url">
                    <Link to={endpointPage(endpoint)}>{endpoint.url}</Link>
                  </h2>
                  <EndpointBadge endpoint={endpoint} />
                </div>
                {endpoint.description && <p className="endpoint-description">{endpoint.description}</p>}
                <dl className="facts">
                  <div>
                    <dt>Events</dt>
                    <dd>{eventsText(endpoint.events)}</dd>
                  </div>
                  <div>
                    <dt>Added</dt>
                    <dd>
                      <RelativeTime iso={endpoint.created_at} never="—" />
                    </dd>
                  </div>
                </dl>
                <DisabledNote endpoint={endpoint} busy={enabling === endpoint.id} onEnable={() => void enable(endpoint)} />
                <Link to={endpointPage(endpoint)} className="button secondary small">
                  Deliveries and settings<span className="sr-only"> of {endpoint.url}</span>
                </Link>
              </li>
            ))}
          </ul>
        ))}
      {adding && (
        <EndpointDialog
          onCancel={() => setAdding(false)}
          onCreated={(endpoint) => {
            setAdding(false);
            setAdded(endpoint);
            reload();
          }}
        />
      )}
      {added && <SigningSecretDialog endpoint={added} onClose={() => setAdded(null)} />}
    </section>
  );
}
