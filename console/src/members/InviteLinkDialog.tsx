import { useState } from 'react';
import type { CreatedInvitation } from '../api/types.ts';
import { Dialog } from '../ui/Dialog.tsx';
import { ExactTime } from '../ui/Time.tsx';
import { roleLabel } from './roles.ts';

/** The invitation link, shown once (only its hash is stored), with Copy; closing without copying asks first. */
export function InviteLinkDialog({ invitation, onClose }: { invitation: CreatedInvitation; onClose: () => void }) {
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  const [confirming, setConfirming] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(invitation.invite_url);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <Dialog title={`Invitation for ${invitation.email}`} onDismiss={() => (copied === 'yes' ? onClose() : setConfirming(true))} role="alertdialog">
      <p className="note warning" id="invite-warning">
        <strong>Copy this link now</strong> and send it to {invitation.email} yourself. It is shown only this once, works once, and expires{' '}
        <ExactTime iso={invitation.expires_at} />. Whoever opens it can join as {roleLabel(invitation.role)}: send it privately.
      </p>
      <label htmlFor="invite-link">Invitation link</label>
      <div className="secret-row">
        <input id="invite-link" className="secret" readOnly value={invitation.invite_url} aria-describedby="invite-warning" onFocus={(e) => e.currentTarget.select()} />
        <button type="button" className="primary" onClick={() => void copy()} data-autofocus>
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p className="hint" role="status" aria-live="polite">
        {copied === 'yes' && 'The link is on your clipboard.'}
        {copied === 'failed' && 'Copying is not allowed here: select the link and copy it yourself.'}
      </p>
      {confirming ? (
        <div className="note warning" role="alert">
          <p>Close without copying? The link will not be shown again; you would revoke this invitation and make a new one.</p>
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
            Done
          </button>
        </div>
      )}
    </Dialog>
  );
}
