import type { Invitation } from '../api/types.ts';
import { ExactTime } from '../ui/Time.tsx';
import { roleLabel } from './roles.ts';

/** Invitations sent and not yet accepted; each can be revoked (after a confirmation, on the page). */
export function PendingInvitations({ invitations, onRevoke }: { invitations: Invitation[]; onRevoke: (invitation: Invitation) => void }) {
  return (
    <section className="card" aria-labelledby="pending-title">
      <h2 id="pending-title">Pending invitations</h2>
      {invitations.length === 0 ? (
        <p className="muted">No pending invitations.</p>
      ) : (
        <div className="table-wrap">
          <table className="stack">
            <caption className="sr-only">Pending invitations</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Invited by</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {invitations.map((invitation) => (
                <tr key={invitation.id}>
                  <th scope="row" className="created-by">
                    {invitation.email}
                  </th>
                  <td data-label="Role">{roleLabel(invitation.role)}</td>
                  <td data-label="Invited by" className="created-by">
                    {invitation.invited_by}
                  </td>
                  <td data-label="Expires">
                    <ExactTime iso={invitation.expires_at} />
                  </td>
                  <td className="row-actions">
                    <button type="button" className="secondary small danger-text" onClick={() => onRevoke(invitation)} aria-label={`Revoke the invitation for ${invitation.email}`}>
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
