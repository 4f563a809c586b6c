import { useState } from 'react';
import { api } from '../api/client.ts';
import type { ApiKeyWithSecret, KeySecret } from '../api/types.ts';
import { LoadError } from '../session/RoleRequired.tsx';
import { useSession } from '../session/session.ts';
import { ConfirmDialog } from '../ui/ConfirmDialog.tsx';
import { Loading } from '../ui/States.tsx';
import { useLoad } from '../ui/useLoad.ts';
import { isExpired } from './draft.ts';
import { KeyHeader } from './KeyHeader.tsx';
import { KeySettingsForm } from './KeySettingsForm.tsx';
import { KeySettingsView } from './KeySettingsView.tsx';
import { RevokeKeyDialog } from './RevokeKeyDialog.tsx';
import { RotateDialog } from './RotateDialog.tsx';
import { SecretDialog } from './SecretDialog.tsx';
import { SecretVersions } from './SecretVersions.tsx';

/** Settings → API keys → [key]: settings, secret versions, rotate, revoke (each where the session can). */
export function KeyPage({ keyId }: { keyId: string }) {
  const { workspace, can } = useSession();
  const [loaded, reload] = useLoad(() => api.getKey(workspace.id, keyId), [workspace.id, keyId]);
  const [rotating, setRotating] = useState(false);
  const [newSecret, setNewSecret] = useState<ApiKeyWithSecret | null>(null);
  const [revokingSecret, setRevokingSecret] = useState<KeySecret | null>(null);
  const [revokingKey, setRevokingKey] = useState(false);

  if (loaded.state === 'loading') return <Loading what="Loading the key" />;
  if (loaded.state === 'error') return <LoadError error={loaded.error} message={loaded.message} onRetry={reload} />;
  const apiKey = loaded.data;
  // Every change reloads the key: the page shows what the API holds, not what we guess it holds.
  const refresh = () => reload();
  // An expired key is not revoked: it can still be changed (a later expiry brings it back) and revoked.
  const active = apiKey.status !== 'revoked';

  return (
    <section aria-labelledby="key-title">
      <KeyHeader apiKey={apiKey} tab="settings" />
      {!active && <p className="note">This key is revoked: every request with it is refused. Its settings and history stay for the audit trail.</p>}
      {active && isExpired(apiKey) && (
        <p className="note">This key has expired: every request with it is refused (api_key_expired). Set a later expiry, or none, below to use it again.</p>
      )}

      <div className="card">
        <div className="card-head">
          <h2>Secret versions</h2>
          {active && can('keys:rotate') && (
            <button type="button" className="primary" onClick={() => setRotating(true)}>
              Rotate
            </button>
          )}
        </div>
        <SecretVersions apiKey={apiKey} {...(can('keys:revoke') ? { onRevoke: setRevokingSecret } : {})} />
      </div>

      <div className="card">
        <h2>Settings</h2>
        {!active ? (
          <p className="muted">A revoked key cannot be changed.</p>
        ) : can('keys:write') ? (
          <KeySettingsForm key={apiKey.id} apiKey={apiKey} onSaved={refresh} />
        ) : (
          <KeySettingsView apiKey={apiKey} />
        )}
      </div>

      {active && can('keys:revoke') && (
        <div className="card danger-zone">
          <h2>Revoke this key</h2>
          <p>Revoking is immediate and permanent: any system using this key loses access right away.</p>
          <button type="button" className="danger" onClick={() => setRevokingKey(true)}>
            Revoke key
          </button>
        </div>
      )}

      {rotating && (
        <RotateDialog
          apiKey={apiKey}
          onCancel={() => setRotating(false)}
          onRotated={(key) => {
            setRotating(false);
            setNewSecret(key);
            refresh();
          }}
        />
      )}
      {newSecret && <SecretDialog apiKey={newSecret} rotated onClose={() => setNewSecret(null)} />}
      {revokingSecret && (
        <ConfirmDialog
          title={`Revoke version ${revokingSecret.version} of ${apiKey.name}?`}
          confirmLabel={`Revoke v${revokingSecret.version}`}
          onCancel={() => setRevokingSecret(null)}
          onConfirm={async () => {
            await api.revokeSecret(workspace.id, apiKey.id, revokingSecret.id);
            setRevokingSecret(null);
            refresh();
          }}
        >
          <p>
            Secret <code>{revokingSecret.prefix}</code> (v{revokingSecret.version}) stops working now, before its overlap ends. Make sure your integration
            already uses the new secret. <strong>This cannot be undone.</strong>
          </p>
        </ConfirmDialog>
      )}
      {revokingKey && (
        <RevokeKeyDialog
          apiKey={apiKey}
          onCancel={() => setRevokingKey(false)}
          onDone={() => {
            setRevokingKey(false);
            refresh();
          }}
        />
      )}
    </section>
  );
}
