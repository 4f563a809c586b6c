import type { ApiKey } from '../api/types.ts';
import { useProduct } from '../product.ts';
import { useSession } from '../session/session.ts';
import { shortTime } from '../ui/format.ts';
import { Link } from '../ui/Link.tsx';
import { RelativeTime } from '../ui/Time.tsx';
import { createdByText, isExpired, rateLimitText } from './draft.ts';
import { ModeBadge, StatusBadge } from './ModeBadge.tsx';

/** The seeds' list: name, prefix, mode, scope count, rate limit, last used, created by and at; an X to revoke (when allowed). */
export function KeysTable({ keys, onRevoke }: { keys: ApiKey[]; onRevoke?: (key: ApiKey) => void }) {
  const { kind } = useSession();
  const product = useProduct();
  const embeddedIn = kind === 'embed' ? product.name : undefined;
  return (
    <div className="table-wrap">
      <table className="keys-table stack">
        <caption className="sr-only">API keys</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key prefix</th>
            <th scope="col">Mode</th>
            <th scope="col">Scopes</th>
            <th scope="col">Rate limit</th>
            <th scope="col">Last used</th>
            <th scope="col">Created</th>
            {onRevoke && (
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr key={key.id} className={key.status === 'revoked' ? 'revoked' : undefined}>
              <th scope="row">
                <Link to={`/keys/${encodeURIComponent(key.id)}`}>{key.name}</Link>
                {key.status === 'revoked' && <StatusBadge status="revoked" />}
                {isExpired(key) && <StatusBadge status="expired" label="Expired" />}
              </th>
              <td data-label="Key prefix">
                <code>{key.prefix}</code>
              </td>
              <td data-label="Mode">
                <ModeBadge mode={key.mode} />
              </td>
              <td data-label="Scopes">{key.scopes.length}</td>
              <td className="nowrap" data-label="Rate limit">{rateLimitText(key.rate_limit)}</td>
              <td className="nowrap last-used" data-label="Last used">
                <RelativeTime iso={key.last_used_at} />
              </td>
              <td data-label="Created">
                <span>
                  <span className="created-by">{createdByText(key.created_by, embeddedIn)}</span>
                  <br />
                  <span className="muted">{key.created_at ? shortTime(key.created_at) : ''}</span>
                </span>
              </td>
              {onRevoke && (
                <td className="row-actions">
                  {key.status !== 'revoked' && (
                    <button type="button" className="icon danger-text" aria-label={`Revoke key ${key.name}`} title="Revoke key" onClick={() => onRevoke(key)}>
                      ✕
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
