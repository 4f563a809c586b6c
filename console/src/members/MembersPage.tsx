import { useState } from 'react';
import { api, messageOf } from '../api/client.ts';
import type { Member, Role } from '../api/types.ts';
import { LoadError } from '../session/RoleRequired.tsx';
import { useSession } from '../session/session.ts';
import { Loading } from '../ui/States.tsx';
import { ExactTime } from '../ui/Time.tsx';
import { useLoad } from '../ui/useLoad.ts';
import { AddMemberForm } from './AddMemberForm.tsx';

const ROLES: Role[] = ['owner', 'admin', 'member'];

/** Who is in the workspace, with which role. Owners and Admins only: the API refuses Members. */
export function MembersPage() {
  const { workspace, me } = useSession();
  const [members, reload] = useLoad(() => api.members(workspace.id), [workspace.id]);
  const [status, setStatus] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);

  const changeRole = async (member: Member, role: Role) => {
    setStatus(null);
    try {
      await api.changeRole(workspace.id, member.user_id, role);
      setStatus({ kind: 'ok', text: `${member.email} is now ${role}.` });
    } catch (caught) {
      setStatus({ kind: 'error', text: messageOf(caught) });
    }
    reload();
  };

  if (members.state === 'loading') return <Loading what="Loading members" />;
  if (members.state === 'error') return <LoadError error={members.error} message={members.message} onRetry={reload} />;
  return (
    <section aria-labelledby="members-title">
      <p className="breadcrumb">Settings</p>
      <h1 id="members-title">Members</h1>
      <p className="lede">Owners and Admins manage API keys and read the audit log. Members cannot; only an Owner can make someone an Owner.</p>
      {status && (
        <p className={status.kind === 'ok' ? 'success-text' : 'field-error'} role={status.kind === 'ok' ? 'status' : 'alert'}>
          {status.text}
        </p>
      )}
      <div className="table-wrap card">
        <table>
          <caption className="sr-only">Members of {workspace.name}</caption>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Added</th>
            </tr>
          </thead>
          <tbody>
            {members.data.data.map((member) => (
              <tr key={member.user_id}>
                <th scope="row">
                  {member.email}
                  {member.user_id === me.user.id && <span className="muted"> (you)</span>}
                </th>
                <td>
                  <label className="sr-only" htmlFor={`role-${member.user_id}`}>
                    Role of {member.email}
                  </label>
                  <select id={`role-${member.user_id}`} value={member.role} onChange={(e) => void changeRole(member, e.target.value as Role)}>
                    {ROLES.map((role) => (
                      <option key={role} value={role}>
                        {role[0]?.toUpperCase()}
                        {role.slice(1)}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <ExactTime iso={member.added_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <AddMemberForm onAdded={reload} />
    </section>
  );
}
