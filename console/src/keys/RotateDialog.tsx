import { useId, useState } from 'react';
import { api, messageOf } from '../api/client.ts';
import type { ApiKey, ApiKeyWithSecret } from '../api/types.ts';
import { useSession } from '../session/session.ts';
import { Dialog } from '../ui/Dialog.tsx';

const HOUR = 3600;
const OVERLAPS = [
  { seconds: 0, label: 'None — the current secret stops now' },
  { seconds: HOUR, label: '1 hour' },
  { seconds: 6 * HOUR, label: '6 hours' },
  { seconds: 24 * HOUR, label: '24 hours (recommended)' },
  { seconds: 48 * HOUR, label: '2 days' },
  { seconds: 72 * HOUR, label: '3 days' },
  { seconds: 168 * HOUR, label: '7 days' },
];

/** A new secret version; the current one keeps working for the chosen overlap. */
export function RotateDialog({ apiKey, onRotated, onCancel }: { apiKey: ApiKey; onRotated: (key: ApiKeyWithSecret) => void; onCancel: () => void }) {
  const { workspace } = useSession();
  const [overlap, setOverlap] = useState(24 * HOUR);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const selectId = useId();
  const rotate = async () => {
    setBusy(true);
    setError('');
    try {
      onRotated(await api.rotateKey(workspace.id, apiKey.id, overlap));
    } catch (caught) {
      setError(messageOf(caught));
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Rotate ${apiKey.name}`} onDismiss={onCancel}>
      <p>Latchkey generates a new secret. During the overlap both the old and the new secret work, so you can swap it in without downtime.</p>
      <div className="field">
        <label htmlFor={selectId}>Overlap</label>
        <select id={selectId} value={overlap} onChange={(e) => setOverlap(Number(e.target.value))} data-autofocus>
          {OVERLAPS.map((o) => (
            <option key={o.seconds} value={o.seconds}>
              {o.label}
            </option>
          ))}
        </select>
      </div>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <div className="actions">
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="primary" onClick={() => void rotate()} disabled={busy}>
          {busy ? 'Rotating…' : 'Rotate'}
        </button>
      </div>
    </Dialog>
  );
}
