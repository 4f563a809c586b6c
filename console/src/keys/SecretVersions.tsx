import type { ApiKey, KeySecret } from '../api/types.ts';
import { Countdown, ExactTime, RelativeTime } from '../ui/Time.tsx';
import { StatusBadge } from './ModeBadge.tsx';

/** The key's secret versions, newest first; an old version in its overlap can be revoked early (when allowed). */
export function SecretVersions({ apiKey, onRevoke }: { apiKey: ApiKey; onRevoke?: (secret: KeySecret) => void }) {
  const secrets = [...apiKey.secrets].sort((a, b) => b.version - a.version);
  return (
    <div className="table-wrap">
      <table className="stack">
        <caption className="sr-only">Secret versions</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Prefix</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Overlap ends</th>
            <th scope="col">Last used</th>
            {onRevoke && (
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {secrets.map((secret) => (
            <tr key={secret.id}>
              <th scope="row">v{secret.version}</th>
              <td data-label="Prefix">
                <code>{secret.prefix}</code>
              </td>
              <td data-label="Status">
                <StatusBadge status={secret.status} />
              </td>
              <td data-label="Created">
                <ExactTime iso={secret.created_at} />
              </td>
              <td data-label="Overlap ends">
                {secret.status === 'expiring' && secret.expires_at ? (
                  <span>
                    in <Countdown iso={secret.expires_at} />
                  </span>
                ) : secret.revoked_at ? (
                  <span className="muted">
                    revoked <ExactTime iso={secret.revoked_at} />
                  </span>
                ) : (
                  <ExactTime iso={secret.expires_at} />
                )}
              </td>
              <td data-label="Last used">
                <RelativeTime iso={secret.last_used_at} />
              </td>
              {onRevoke && (
                <td className="row-actions">
                  {secret.status === 'expiring' && apiKey.status === 'active' && (
                    <button type="button" className="secondary small danger-text" onClick={() => onRevoke(secret)}>
                      Revoke v{secret.version}
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
