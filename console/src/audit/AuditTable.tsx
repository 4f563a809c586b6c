import type { AuditEvent } from '../api/types.ts';
import { RelativeTime } from '../ui/Time.tsx';

export function AuditTable({ events, onOpen }: { events: AuditEvent[]; onOpen: (id: string) => void }) {
  return (
    <div className="table-wrap">
      <table className="audit-table stack">
        <caption className="sr-only">Audit events</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Key</th>
            <th scope="col">Request</th>
            <th scope="col">Status</th>
            <th scope="col">Latency</th>
            <th scope="col">Source IP</th>
            <th scope="col">
              <span className="sr-only">Details</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.id}>
              <td className="nowrap" data-label="Time">{event.created_at && <RelativeTime iso={event.created_at} />}</td>
              <td data-label="Key">{event.key ? (event.key.name ?? event.key.id) : <span className="muted">no key</span>}</td>
              <td data-label="Request">
                {/* The call as made: a key checked through verify is recorded under verify's route, with the caller's path. */}
                <code title={event.route && event.route !== event.path ? `route ${event.route}` : undefined}>
                  {event.method} {event.path}
                </code>
              </td>
              <td data-label="Status">
                <span>
                  <span className={`badge http-${String(event.status)[0]}xx`}>{event.status}</span>
                  {event.error_code && <span className="muted"> {event.error_code}</span>}
                </span>
              </td>
              <td className="nowrap" data-label="Latency">{event.latency_ms} ms</td>
              <td data-label="Source IP">
                <code>{event.source_ip ?? '—'}</code>
              </td>
              <td>
                <button type="button" className="secondary small" onClick={() => onOpen(event.id)} aria-label={`Details of ${event.method} ${event.path} (${event.status})`}>
                  Details
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
