import type { CreatedInvitation } from '../api/types.ts';
import { ShownOnceDialog } from '../ui/ShownOnceDialog.tsx';
import { ExactTime } from '../ui/Time.tsx';
import { roleLabel } from './roles.ts';

/** The invitation link, shown once (only its hash is stored), with Copy; closing without copying asks first. */
export function InviteLinkDialog({ invitation, onClose }: { invitation: CreatedInvitation; onClose: () => void }) {
  return (
    <ShownOnceDialog
      title={`Invitation for ${invitation.email}`}
      warning={
        <>
          <strong>Copy this link now</strong> and send it to {invitation.email} yourself. It is shown only this once, works once, and expires{' '}
          <ExactTime iso={invitation.expires_at} />. Whoever opens it can join as {roleLabel(invitation.role)}: send it privately.
        </>
      }
      label="Invitation link"
      value={invitation.invite_url}
      noun="link"
      closeWarning="Close without copying? The link will not be shown again; you would revoke this invitation and make a new one."
      doneLabel="Done"
      onClose={onClose}
    />
  );
}
