import { useState, type FormEvent } from 'react';
import { api, fieldOf, messageOf } from '../api/client.ts';
import type { Role } from '../api/types.ts';
import { useSession } from '../session/session.ts';
import { Field } from '../ui/Field.tsx';

/** Adds a person: an existing user by email, or a new one with the password they will sign in with. */
export function AddMemberForm({ onAdded }: { onAdded: () => void }) {
  const { workspace } = useSession();
  const [form, setForm] = useState<{ email: string; password: string; role: Role }>({ email: '', password: '', role: 'member' });
  const [error, setError] = useState<{ message: string; field?: string | undefined } | null>(null);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setDone('');
    try {
      await api.addMember(workspace.id, { email: form.email, role: form.role, ...(form.password ? { password: form.password } : {}) });
      setDone(`${form.email} added as ${form.role}.`);
      setForm({ email: '', password: '', role: 'member' });
      onAdded();
    } catch (caught) {
      setError({ message: messageOf(caught), field: fieldOf(caught) });
    } finally {
      setBusy(false);
    }
  };
  const errorFor = (field: string) => (error?.field === field ? error.message : undefined);
  return (
    <form className="card add-member" onSubmit={(event) => void submit(event)} noValidate>
      <h2>Add a member</h2>
      <div className="row">
        <Field label="Email" error={errorFor('email')}>
          {(props) => <input {...props} type="email" autoComplete="off" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />}
        </Field>
        <Field label="Password" error={errorFor('password')} hint="For a new user: at least 10 characters. Leave empty for someone who already has an account.">
          {(props) => <input {...props} type="password" autoComplete="new-password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />}
        </Field>
        <Field label="Role" error={errorFor('role')}>
          {(props) => (
            <select {...props} value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
              <option value="member">Member</option>
              <option value="admin">Admin</option>
              {workspace.role === 'owner' && <option value="owner">Owner</option>}
            </select>
          )}
        </Field>
      </div>
      {error && !error.field && (
        <p className="field-error" role="alert">
          {error.message}
        </p>
      )}
      <div className="actions start">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Adding…' : 'Add member'}
        </button>
        {done && (
          <p className="success-text" role="status">
            {done}
          </p>
        )}
      </div>
    </form>
  );
}
