import { useState } from 'react';
import type { ApiKeyWithSecret } from '../api/types.ts';
import { Dialog } from '../ui/Dialog.tsx';

/**
 * The full secret, shown once (after create or rotate). Escape or a click outside asks first: closing
 * by accident would lose a secret nobody can show again.
 */
export function SecretDialog({ apiKey, rotated, onClose }: { apiKey: ApiKeyWithSecret; rotated?: boolean; onClose: () => void }) {
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  const [confirming, setConfirming] = useState(false);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(apiKey.secret);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };

  return (
    <Dialog title={rotated ? `New secret for ${apiKey.name}` : `API key ${apiKey.name} created`} onDismiss={() => setConfirming(true)} role="alertdialog">
      <p className="note warning" id="secret-warning">
        <strong>Copy this key now.</strong> This is the only time its full secret is shown: store it in your secrets manager. You will not be able to see it again.
      </p>
      <label htmlFor="secret-value">Secret key</label>
      <div className="secret-row">
        <input id="secret-value" className="secret" readOnly value={apiKey.secret} aria-describedby="secret-warning" onFocus={(e) => e.currentTarget.select()} />
        <button type="button" className="primary" onClick={() => void copy()} data-autofocus>
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p className="hint" role="status" aria-live="polite">
        {copied === 'yes' && 'The key is on your clipboard.'}
        {copied === 'failed' && 'Copying is not allowed here: select the key and copy it yourself.'}
      </p>
      {rotated && <p className="hint">The previous secret keeps working until its overlap ends; revoke it on the key's page once your integration uses the new one.</p>}
      {confirming ? (
        <div className="note warning" role="alert">
          <p>Close without copying? The key will not be shown again.</p>
          <div className="actions">
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>
              Keep it open
            </button>
            <button type="button" className="danger" onClick={onClose}>
              Close anyway
            </button>
          </div>
        </div>
      ) : (
        <div className="actions">
          <button type="button" className="primary" onClick={onClose}>
            I have stored the key
          </button>
        </div>
      )}
    </Dialog>
  );
}
