import type { EventEndpoint } from '../api/types.ts';
import { RelativeTime } from '../ui/Time.tsx';

export function EndpointBadge({ endpoint }: { endpoint: EventEndpoint }) {
  return endpoint.enabled ? <span className="badge status-active">Enabled</span> : <span className="badge status-revoked">Disabled</span>;
}

/**
 * Why an endpoint receives nothing: Latchkey disabled it after failing deliveries (the reason says so), or a
 * person did. Re-enabling sends what comes next; deliveries already failed stay failed until retried.
 */
export function DisabledNote({ endpoint, onEnable, busy }: { endpoint: EventEndpoint; onEnable: () => void; busy: boolean }) {
  if (endpoint.enabled) return null;
  return (
    <div className="note warning" role="note">
      <p>
        <strong>Disabled{endpoint.disabled_at ? <> <RelativeTime iso={endpoint.disabled_at} /></> : null}</strong>
        {endpoint.disabled_reason ? `: ${endpoint.disabled_reason}` : '. It receives no events until it is enabled again.'}
      </p>
      <button type="button" className="secondary small" onClick={onEnable} disabled={busy}>
        {busy ? 'Enabling…' : 'Re-enable'}
      </button>
    </div>
  );
}
