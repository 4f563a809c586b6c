import type { ApiKey } from '../api/types.ts';
import { rateLimitText } from './draft.ts';
import { useScopes } from './useScopes.ts';

/** A key's settings for a session that may read keys but not change them: what the form would show, as text. */
export function KeySettingsView({ apiKey }: { apiKey: ApiKey }) {
  const [catalog] = useScopes();
  // What each scope allows, once the catalog is in; the scope names alone until then.
  const described = new Map(catalog.state === 'ready' ? catalog.data.flatMap(([, scopes]) => scopes.map((s) => [s.scope, s.description] as const)) : []);
  const meta = Object.keys(apiKey.meta ?? {}).length === 0 ? null : JSON.stringify(apiKey.meta, null, 2);
  return (
    <dl className="settings-view">
      <div>
        <dt>Scopes</dt>
        <dd>
          {apiKey.scopes.length === 0 ? (
            <span className="muted">None</span>
          ) : (
            <ul className="plain">
              {apiKey.scopes.map((scope) => (
                <li key={scope}>
                  <code>{scope}</code>
                  {described.get(scope) && <span className="allows">{described.get(scope)}</span>}
                </li>
              ))}
            </ul>
          )}
        </dd>
      </div>
      <div>
        <dt>Rate limit</dt>
        <dd>{rateLimitText(apiKey.rate_limit)}</dd>
      </div>
      <div>
        <dt>IP allowlist</dt>
        <dd>{apiKey.ip_allowlist.length === 0 ? <span className="muted">Any source IP</span> : apiKey.ip_allowlist.map((ip) => <code key={ip}>{ip} </code>)}</dd>
      </div>
      <div>
        <dt>Metadata</dt>
        <dd>{meta ? <pre>{meta}</pre> : <span className="muted">None</span>}</dd>
      </div>
    </dl>
  );
}
