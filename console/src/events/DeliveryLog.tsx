import { Fragment, useEffect, useId, useState } from 'react';
import { api, messageOf } from '../api/client.ts';
import type { DeliveryStatus, EventDelivery } from '../api/types.ts';
import { AuditPager, useCursorPages } from '../audit/AuditPager.tsx';
import { LoadError } from '../session/RoleRequired.tsx';
import { useConsoleSession } from '../session/session.ts';
import { Empty, Loading } from '../ui/States.tsx';
import { ExactTime, RelativeTime } from '../ui/Time.tsx';
import { useLoad } from '../ui/useLoad.ts';

/** While a delivery shown is still pending, the log looks again this often (it is on its way, or backing off). */
const PENDING_REFRESH_MS = 2000;

const STATUS_LABEL: Record<DeliveryStatus, string> = { pending: 'Pending', delivered: 'Delivered', failed: 'Failed' };

export function DeliveryBadge({ status }: { status: DeliveryStatus }) {
  return <span className={`badge delivery-${status}`}>{STATUS_LABEL[status]}</span>;
}

/** The answer of the last try: its HTTP status, or why there was none (timeout, refused address). */
function lastResult(delivery: Pick<EventDelivery, 'last_status_code' | 'last_error'>) {
  if (delivery.last_status_code !== null) {
    return (
      <span>
        <span className={`badge http-${String(delivery.last_status_code)[0]}xx`}>{delivery.last_status_code}</span>
        {delivery.last_error && <span className="muted"> {delivery.last_error}</span>}
      </span>
    );
  }
  return delivery.last_error ? <span className="danger-text">{delivery.last_error}</span> : <span className="muted">—</span>;
}

/** An endpoint's deliveries, newest first: each one's status, attempts and last answer; expand for every attempt; retry. */
export function DeliveryLog({ endpointId, version }: { endpointId: string; version: number }) {
  const { workspace } = useConsoleSession();
  const [status, setStatus] = useState<DeliveryStatus | ''>('');
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const [deliveries, reload] = useLoad(() => api.deliveries(workspace.id, endpointId, status || undefined, cursor), [workspace.id, endpointId, status, cursor, version]);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [retrying, setRetrying] = useState('');
  const [error, setError] = useState('');
  const statusId = useId();

  const anyPending = deliveries.state === 'ready' && deliveries.data.data.some((d) => d.status === 'pending');
  useEffect(() => {
    if (!anyPending) return;
    const timer = setTimeout(() => {
      if (document.visibilityState === 'visible') reload();
    }, PENDING_REFRESH_MS);
    return () => clearTimeout(timer);
  }, [anyPending, deliveries, reload]);

  const retry = async (delivery: EventDelivery) => {
    setRetrying(delivery.id);
    setError('');
    try {
      await api.retryDelivery(workspace.id, endpointId, delivery.id);
      reload();
    } catch (caught) {
      setError(messageOf(caught));
    }
    setRetrying('');
  };
  const toggle = (id: string) =>
    setOpen((before) => {
      const next = new Set(before);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  return (
    <section className="card" aria-labelledby="deliveries-title">
      <div className="card-head">
        <h2 id="deliveries-title">Delivery log</h2>
        <div className="toolbar">
          <label htmlFor={statusId}>Show</label>
          <select
            id={statusId}
            value={status}
            onChange={(e) => {
              pages.reset();
              setStatus(e.target.value as DeliveryStatus | '');
            }}
          >
            <option value="">All deliveries</option>
            <option value="pending">Pending</option>
            <option value="delivered">Delivered</option>
            <option value="failed">Failed</option>
          </select>
        </div>
      </div>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {deliveries.state === 'loading' && <Loading what="Loading deliveries" />}
      {deliveries.state === 'error' && <LoadError error={deliveries.error} message={deliveries.message} onRetry={reload} />}
      {deliveries.state === 'ready' &&
        (deliveries.data.data.length === 0 && !pages.hasNewer ? (
          <Empty>
            <p>{status ? 'No deliveries with this status.' : 'No deliveries yet.'}</p>
            {!status && <p className="muted">Send a test event to see one arrive.</p>}
          </Empty>
        ) : (
          <div className="table-wrap">
            <table className="stack deliveries">
              <caption className="sr-only">Deliveries, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Status</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last answer</th>
                  <th scope="col">Last attempt</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {deliveries.data.data.map((delivery) => {
                  const expanded = open.has(delivery.id);
                  const attemptsId = `attempts-${delivery.id}`;
                  return (
                    <Fragment key={delivery.id}>
                      <tr>
                        <th scope="row">
                          <span>
                            <code>{delivery.event.type}</code>
                            <br />
                            <span className="muted small-text">{delivery.event.id}</span>
                          </span>
                        </th>
                        <td data-label="Status">
                          <span>
                            <DeliveryBadge status={delivery.status} />
                            {delivery.status === 'pending' && delivery.next_attempt_at && delivery.attempts > 0 && (
                              <span className="muted small-text">
                                {' '}
                                next <RelativeTime iso={delivery.next_attempt_at} />
                              </span>
                            )}
                          </span>
                        </td>
                        <td data-label="Attempts">{delivery.attempts}</td>
                        <td data-label="Last answer">{lastResult(delivery)}</td>
                        <td className="nowrap" data-label="Last attempt">
                          <RelativeTime iso={delivery.last_attempt_at} never="Not yet" />
                        </td>
                        <td className="nowrap" data-label="Created">
                          <RelativeTime iso={delivery.created_at} never="—" />
                        </td>
                        <td className="row-actions">
                          {(delivery.attempt_log?.length ?? 0) > 0 && (
                            <button
                              type="button"
                              className="secondary small"
                              aria-expanded={expanded}
                              aria-controls={attemptsId}
                              aria-label={`Attempts of ${delivery.event.type} ${delivery.event.id}`}
                              onClick={() => toggle(delivery.id)}
                            >
                              {expanded ? 'Hide attempts' : 'Attempts'}
                            </button>
                          )}{' '}
                          <button
                            type="button"
                            className="secondary small"
                            disabled={retrying === delivery.id}
                            aria-label={`Retry ${delivery.event.type} ${delivery.event.id}`}
                            onClick={() => void retry(delivery)}
                          >
                            {retrying === delivery.id ? 'Retrying…' : 'Retry'}
                          </button>
                        </td>
                      </tr>
                      {expanded && (
                        <tr className="attempts-row" id={attemptsId}>
                          <td colSpan={7}>
                            <AttemptList delivery={delivery} />
                          </td>
                        </tr>
                      )}
                    </Fragment>
                  );
                })}
              </tbody>
            </table>
          </div>
        ))}
      {deliveries.state === 'ready' && <AuditPager pages={pages} nextCursor={deliveries.data.has_more ? deliveries.data.next_cursor : null} onRefresh={reload} />}
    </section>
  );
}

function AttemptList({ delivery }: { delivery: EventDelivery }) {
  const attempts = delivery.attempt_log ?? [];
  return (
    <ol className="attempts" aria-label={`Attempts of ${delivery.event.id}, oldest first`}>
      {attempts.map((attempt, index) => (
        <li key={`${attempt.started_at}-${index}`}>
          <p>
            <strong>Attempt {index + 1}</strong> · <ExactTime iso={attempt.started_at} /> · {attempt.duration_ms} ms ·{' '}
            {lastResult({ last_status_code: attempt.status_code, last_error: attempt.error })}
          </p>
          {attempt.response_excerpt && (
            <details>
              <summary>Response</summary>
              <pre>{attempt.response_excerpt}</pre>
            </details>
          )}
        </li>
      ))}
    </ol>
  );
}
