import { useState } from 'react';
import { api } from '../api/client.ts';
import type { CreatedInvitation, Invitation, Member, Role } from '../api/types.ts';
import { LoadError } from '../session/RoleRequired.tsx';
import { useConsoleSession } from '../session/session.ts';
import { ConfirmDialog } from '../ui/ConfirmDialog.tsx';
import { Loading } from '../ui/States.tsx';
import { ExactTime } from '../ui/Time.tsx';
import { useLoad } from '../ui/useLoad.ts';
import { InviteForm } from './InviteForm.tsx';
import { InviteLinkDialog } from './InviteLinkDialog.tsx';
import { PendingInvitations } from './PendingInvitations.tsx';
import { roleLabel, roleMeaning, ROLES } from './roles.ts';

/** Each change to who may do what is asked first: a select that applied on change let one arrow key promote. */
type Pending =
  | { kind: 'role'; member: Member; role: Role; you: boolean }
  | { kind: 'remove'; member: Member; you: boolean }
  | { kind: 'revoke'; invitation: Invitation }
  | { kind: 'link'; invitation: CreatedInvitation };

/** Who is in the workspace, with which role, and who is invited. Owners and Admins only: the API refuses Members. */
export function MembersPage() {
  const { workspace, me } = useConsoleSession();
  const [members, reload] = useLoad(() => Promise.all([api.members(workspace.id), api.invitations(workspace.id)]), [workspace.id]);
  const [status, setStatus] = useState('');
  const [pending, setPending] = useState<Pending | null>(null);
  const isOwner = workspace.role === 'owner';

  const done = (text: string) => {
    setPending(null);
    setStatus(text);
    reload();
  };

  if (members.state === 'loading') return <Loading what="Loading members" />;
  if (members.state === 'error') return <LoadError error={members.error} message={members.message} onRetry={reload} />;
  const [people, invitations] = members.data;
  const owners = people.data.filter((member) => member.role === 'owner').length;
  return (
    <section aria-labelledby="members-title">
      <p className="breadcrumb">Settings</p>
      <h1 id="members-title">Members</h1>
      <p className="lede">Owners and Admins manage API keys and read the audit log. Members cannot; only an Owner can make, unmake or remove an Owner.</p>
      {status && (
        <p className="success-text" role="status">
          {status}
        </p>
      )}
      <div className="table-wrap card">
        <table className="stack members">
          <caption className="sr-only">Members of {workspace.name}</caption>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Added</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {people.data.map((member) => {
              const locked = member.role === 'owner' && !isOwner;
              const you = member.user_id === me.user.id;
              return (
                <tr key={member.user_id}>
                  <th scope="row" className="created-by">
                    <span>
                      {member.email}
                      {you && <span className="muted"> (you)</span>}
                    </span>
                  </th>
                  <td data-label="Role">
                    <label className="sr-only" htmlFor={`role-${member.user_id}`}>
                      Role of {member.email}
                    </label>
                    <select
                      id={`role-${member.user_id}`}
                      value={member.role}
                      disabled={locked}
                      title={locked ? 'Only an Owner can change an Owner' : undefined}
                      onChange={(e) => {
                        setStatus('');
                        setPending({ kind: 'role', member, role: e.target.value as Role, you });
                      }}
                    >
                      {ROLES.filter((role) => isOwner || role !== 'owner' || member.role === 'owner').map((role) => (
                        <option key={role} value={role}>
                          {roleLabel(role)}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td data-label="Added">
                    <ExactTime iso={member.added_at} />
                  </td>
                  <td className="row-actions">
                    {/* The last Owner can be neither removed nor leave: the API would refuse it. */}
                    {!locked && !(member.role === 'owner' && owners === 1) && (
                      <button
                        type="button"
                        className="secondary small danger-text"
                        onClick={() => {
                          setStatus('');
                          setPending({ kind: 'remove', member, you });
                        }}
                        aria-label={you ? 'Leave this workspace' : `Remove ${member.email}`}
                      >
                        {you ? 'Leave' : 'Remove'}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <PendingInvitations
        invitations={invitations.data}
        onRevoke={(invitation) => {
          setStatus('');
          setPending({ kind: 'revoke', invitation });
        }}
      />
      <InviteForm
        onInvited={(invitation) => {
          setStatus('');
          setPending({ kind: 'link', invitation });
          reload();
        }}
      />
      {pending && <PendingDialog pending={pending} workspaceName={workspace.name} workspaceId={workspace.id} onDone={done} onCancel={() => setPending(null)} />}
    </section>
  );
}

function PendingDialog({
  pending,
  workspaceId,
  workspaceName,
  onDone,
  onCancel,
}: {
  pending: Pending;
  workspaceId: string;
  workspaceName: string;
  onDone: (status: string) => void;
  onCancel: () => void;
}) {
  switch (pending.kind) {
    case 'link':
      // The pending list below shows the invitation; a status line would outlive it into the next invite.
      return <InviteLinkDialog invitation={pending.invitation} onClose={() => onDone('')} />;
    case 'role': {
      const { member, role } = pending;
      return (
        <ConfirmDialog
          title={`Make ${member.email} ${roleLabel(role)}?`}
          confirmLabel={`Make ${roleLabel(role)}`}
          danger={false}
          onCancel={onCancel}
          onConfirm={async () => {
            await api.changeRole(workspaceId, member.user_id, role);
            // One's own role shapes the whole console (menus, what it offers): start it again.
            if (pending.you) location.assign('/members');
            else onDone(`${member.email} is now ${roleLabel(role)}.`);
          }}
        >
          <p>
            <strong>{member.email}</strong> is {roleLabel(member.role)}. As {roleLabel(role)} they can {roleMeaning(role)}.
          </p>
        </ConfirmDialog>
      );
    }
    case 'remove': {
      const { member } = pending;
      return (
        <ConfirmDialog
          title={pending.you ? `Leave ${workspaceName}?` : `Remove ${member.email}?`}
          confirmLabel={pending.you ? 'Leave workspace' : 'Remove member'}
          onCancel={onCancel}
          onConfirm={async () => {
            await api.removeMember(workspaceId, member.user_id);
            if (pending.you) location.assign('/');
            else onDone(`${member.email} was removed.`);
          }}
        >
          <p>
            <strong>{member.email}</strong> loses access to <strong>{workspaceName}</strong> at once. Their account and the API keys they created stay.
          </p>
          <p>To bring them back, invite them again.</p>
        </ConfirmDialog>
      );
    }
    case 'revoke': {
      const { invitation } = pending;
      return (
        <ConfirmDialog
          title={`Revoke the invitation for ${invitation.email}?`}
          confirmLabel="Revoke invitation"
          onCancel={onCancel}
          onConfirm={async () => {
            await api.revokeInvitation(workspaceId, invitation.id);
            onDone(`The invitation for ${invitation.email} was revoked.`);
          }}
        >
          <p>The link sent to {invitation.email} stops working at once. You can invite them again later.</p>
        </ConfirmDialog>
      );
    }
  }
}
