import type { ApiKeyWithSecret } from '../api/types.ts';
import { ShownOnceDialog } from '../ui/ShownOnceDialog.tsx';

/** The full secret, shown once (after create or rotate). */
export function SecretDialog({ apiKey, rotated, onClose }: { apiKey: ApiKeyWithSecret; rotated?: boolean; onClose: () => void }) {
  return (
    <ShownOnceDialog
      title={rotated ? `New secret for ${apiKey.name}` : `API key ${apiKey.name} created`}
      warning={
        <>
          <strong>Copy this key now.</strong> This is the only time its full secret is shown: store it in your secrets manager. You will not be able to see it again.
        </>
      }
      label="Secret key"
      value={apiKey.secret}
      noun="key"
      closeWarning="Close without copying? The key will not be shown again."
      doneLabel="I have stored the key"
      askAfterCopy
      onClose={onClose}
    >
      {rotated && <p className="hint">The previous secret keeps working until its overlap ends; revoke it on the key's page once your integration uses the new one.</p>}
    </ShownOnceDialog>
  );
}
