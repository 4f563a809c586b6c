import type { EventEndpointWithSecret } from '../api/types.ts';
import { ShownOnceDialog } from '../ui/ShownOnceDialog.tsx';
import { ExactTime } from '../ui/Time.tsx';

/** An endpoint's signing secret, shown once (after add or rotate), as a key's secret is. */
export function SigningSecretDialog({ endpoint, rotated, onClose }: { endpoint: EventEndpointWithSecret; rotated?: boolean; onClose: () => void }) {
  return (
    <ShownOnceDialog
      title={rotated ? 'New signing secret' : 'Endpoint added'}
      warning={
        <>
          <strong>Copy this signing secret now.</strong> Your receiver needs it to check the Latchkey-Signature header of each event. This is the only time it is
          shown.
        </>
      }
      label="Signing secret"
      value={endpoint.secret}
      noun="secret"
      closeWarning="Close without copying? The secret will not be shown again; you would rotate it to get a new one."
      doneLabel="I have stored the secret"
      askAfterCopy
      onClose={onClose}
    >
      <p className="hint">
        Events for <code className="created-by">{endpoint.url}</code> are signed with it.
        {rotated && endpoint.secret_rotation_ends_at && (
          <>
            {' '}
            Until <ExactTime iso={endpoint.secret_rotation_ends_at} /> the previous secret signs them too, so your receiver can switch without missing one.
          </>
        )}
      </p>
    </ShownOnceDialog>
  );
}
