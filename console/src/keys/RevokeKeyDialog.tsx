import { api } from '../api/client.ts';
import type { ApiKey } from '../api/types.ts';
import { useSession } from '../session/session.ts';
import { ConfirmDialog } from '../ui/ConfirmDialog.tsx';

/** Revoking is immediate and permanent; the confirmation names the key and says so. */
export function RevokeKeyDialog({ apiKey, onDone, onCancel }: { apiKey: Pick<ApiKey, 'id' | 'name' | 'prefix'>; onDone: () => void; onCancel: () => void }) {
  const { workspace } = useSession();
  return (
    <ConfirmDialog
      title={`Revoke ${apiKey.name}?`}
      confirmLabel="Revoke key"
      onCancel={onCancel}
      onConfirm={async () => {
        await api.revokeKey(workspace.id, apiKey.id);
        onDone();
      }}
    >
      <p>
        Revoke the API key <strong>{apiKey.name}</strong> (<code>{apiKey.prefix}</code>)? Every system using it loses access right away.
      </p>
      <p>
        <strong>This cannot be undone.</strong> A revoked key cannot be restored; you would create a new one and update your integrations.
      </p>
    </ConfirmDialog>
  );
}
