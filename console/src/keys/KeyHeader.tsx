import type { ApiKey } from '../api/types.ts';
import { useProduct } from '../product.ts';
import { useSession } from '../session/session.ts';
import { Link } from '../ui/Link.tsx';
import { ExactTime, RelativeTime } from '../ui/Time.tsx';
import { createdByText, isExpired } from './draft.ts';
import { ModeBadge, StatusBadge } from './ModeBadge.tsx';

/** A key's name, facts and tabs, shared by its settings, usage and audit pages. */
export function KeyHeader({ apiKey, tab }: { apiKey: ApiKey; tab: 'settings' | 'usage' | 'audit' }) {
  const { can, kind } = useSession();
  const product = useProduct();
  const base = `/keys/${encodeURIComponent(apiKey.id)}`;
  return (
    <>
      <p className="breadcrumb">
        <Link to="/keys">API keys</Link> / {apiKey.name}
      </p>
      <div className="page-head">
        <h1 id="key-title">
          {apiKey.name} <ModeBadge mode={apiKey.mode} /> {isExpired(apiKey) ? <StatusBadge status="expired" label="Expired" /> : <StatusBadge status={apiKey.status} />}
        </h1>
      </div>
      <dl className="facts">
        <div>
          <dt>Key prefix</dt>
          <dd>
            <code>{apiKey.prefix}</code>
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <ExactTime iso={apiKey.created_at} /> by {createdByText(apiKey.created_by, kind === 'embed' ? product.name : undefined)}
          </dd>
        </div>
        <div>
          <dt>Last used</dt>
          <dd>
            <RelativeTime iso={apiKey.last_used_at} />
            {apiKey.last_used_ip && <span className="muted"> from {apiKey.last_used_ip}</span>}
          </dd>
        </div>
        <div>
          <dt>{isExpired(apiKey) ? 'Expired' : 'Expires'}</dt>
          <dd>
            <ExactTime iso={apiKey.expires_at} empty="Never" />
          </dd>
        </div>
        {(apiKey.inert_scopes ?? []).length > 0 && (
          <div>
            <dt>Inert scopes</dt>
            <dd title="The product no longer offers these scopes: the key keeps them, but they grant nothing unless they return.">
              {(apiKey.inert_scopes ?? []).map((scope) => (
                <code key={scope}>{scope} </code>
              ))}
              <span className="muted">grant nothing</span>
            </dd>
          </div>
        )}
        {apiKey.revoked_at && (
          <div>
            <dt>Revoked</dt>
            <dd>
              <ExactTime iso={apiKey.revoked_at} />
            </dd>
          </div>
        )}
      </dl>
      <nav className="tabs" aria-label="Key">
        <Link to={base} current={tab === 'settings'}>
          Settings
        </Link>
        {can('usage:read') && (
          <Link to={`${base}/usage`} current={tab === 'usage'}>
            Last 30 days
          </Link>
        )}
        {can('audit:read') && (
          <Link to={`${base}/audit`} current={tab === 'audit'}>
            Audit log
          </Link>
        )}
      </nav>
    </>
  );
}
