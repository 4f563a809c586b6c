import { useState } from 'react';
import { api } from '../api/client.ts';
import type { CreatedInvitation, Role } from '../api/types.ts';
import { useConsoleSession } from '../session/session.ts';
import { Field } from '../ui/Field.tsx';
import { useSubmit } from '../ui/useSubmit.ts';
import { roleLabel, ROLES } from './roles.ts';

/**
 * Invites a person: makes a link for their email and a role. Nobody is added until they open the link;
 * the answer is the same whether or not the email already has an account.
 */
export function InviteForm({ onInvited }: { onInvited: (invitation: CreatedInvitation) => void }) {
  const { workspace } = useConsoleSession();
  const [form, setForm] = useState<{ email: string; role: Role }>({ email: '', role: 'member' });
  const { busy, onSubmit, errorFor, formError } = useSubmit(async () => {
    const invitation = await api.invite(workspace.id, form);
    setForm({ email: '', role: 'member' });
    onInvited(invitation);
  });
  const roles = ROLES.filter((role) => role !== 'owner' || workspace.role === 'owner');
  return (
    <form className="card" onSubmit={onSubmit} noValidate>
      <h2>Invite someone</h2>
      <p className="hint">You get a link to send them yourself. It works once, for 7 days; they choose their own password, or sign in if they already have an account.</p>
      <div className="row">
        <Field label="Email" error={errorFor('email')}>
          {(props) => <input {...props} type="email" autoComplete="off" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />}
        </Field>
        <Field label="Role" error={errorFor('role')}>
          {(props) => (
            <select {...props} value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
              {roles.map((role) => (
                <option key={role} value={role}>
                  {roleLabel(role)}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      {formError && (
        <p className="field-error" role="alert">
          {formError}
        </p>
      )}
      <div className="actions start">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create invitation link'}
        </button>
      </div>
    </form>
  );
}
