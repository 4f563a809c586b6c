import { useId, useState } from 'react';
import { api } from '../api/client.ts';
import type { ApiKey, ApiKeyWithSecret } from '../api/types.ts';
import { isRoleRefusal, LoadError, RoleRequired } from '../session/RoleRequired.tsx';
import { useSession } from '../session/session.ts';
import { Empty, Loading } from '../ui/States.tsx';
import { useLoad } from '../ui/useLoad.ts';
import { CreateKeyDialog } from './CreateKeyDialog.tsx';
import { KeysTable } from './KeysTable.tsx';
import { RevokeKeyDialog } from './RevokeKeyDialog.tsx';
import { SecretDialog } from './SecretDialog.tsx';

type Status = 'active' | 'revoked' | 'all';

/** Settings → API keys. */
export function KeysPage() {
  const { workspace, can } = useSession();
  const [status, setStatus] = useState<Status>('active');
  const [keys, reload] = useLoad(() => api.listKeys(workspace.id, status), [workspace.id, status]);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ApiKeyWithSecret | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const statusId = useId();

  // A Member: the page says why, without controls the API would refuse.
  if (keys.state === 'error' && isRoleRefusal(keys.error)) return <RoleRequired />;
  return (
    <section aria-labelledby="keys-title">
      <div className="page-head">
        <div>
          <p className="breadcrumb">Settings</p>
          <h1 id="keys-title">API keys</h1>
        </div>
        {can('keys:write') && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            + New API key
          </button>
        )}
      </div>
      <p className="lede">
        API keys let external systems, scripts and integrations call the API of <strong>{workspace.name}</strong>. Each key is scoped, rate-limited and
        audited.
      </p>
      <div className="toolbar">
        <label htmlFor={statusId}>Show</label>
        <select id={statusId} value={status} onChange={(e) => setStatus(e.target.value as Status)}>
          <option value="active">Active keys</option>
          <option value="revoked">Revoked keys</option>
          <option value="all">All keys</option>
        </select>
      </div>
      {keys.state === 'loading' && <Loading what="Loading keys" />}
      {keys.state === 'error' && <LoadError error={keys.error} message={keys.message} onRetry={reload} />}
      {keys.state === 'ready' &&
        (keys.data.data.length === 0 ? (
          <Empty>
            <p>{status === 'revoked' ? 'No revoked keys.' : 'No API keys yet.'}</p>
            {status !== 'revoked' && can('keys:write') && <p className="muted">Create one with + New API key; its secret is shown once, right after.</p>}
          </Empty>
        ) : (
          <KeysTable keys={keys.data.data} {...(can('keys:revoke') ? { onRevoke: setRevoking } : {})} />
        ))}
      {creating && (
        <CreateKeyDialog
          onCancel={() => setCreating(false)}
          onCreated={(key) => {
            setCreating(false);
            setCreated(key);
            reload();
          }}
        />
      )}
      {created && <SecretDialog apiKey={created} onClose={() => setCreated(null)} />}
      {revoking && (
        <RevokeKeyDialog
          apiKey={revoking}
          onCancel={() => setRevoking(null)}
          onDone={() => {
            setRevoking(null);
            reload();
          }}
        />
      )}
    </section>
  );
}
