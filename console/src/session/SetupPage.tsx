import { useState, type FormEvent } from 'react';
import { api, fieldOf, messageOf, setCsrfToken } from '../api/client.ts';
import { Field } from '../ui/Field.tsx';

/** A new installation's first visit: the first person creates the owner account and the workspace. */
export function SetupPage({ onDone }: { onDone: () => void }) {
  const [form, setForm] = useState({ email: '', password: '', workspace_name: '' });
  const [error, setError] = useState<{ message: string; field?: string | undefined } | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await api.setup(form);
      setCsrfToken(answer.csrf_token);
      onDone();
    } catch (caught) {
      setError({ message: messageOf(caught), field: fieldOf(caught) });
      setBusy(false);
    }
  };
  const errorFor = (field: string) => (error?.field === field ? error.message : undefined);
  return (
    <main className="auth-page">
      <form className="card auth-card" onSubmit={(event) => void submit(event)} noValidate>
        <h1>Set up Latchkey</h1>
        <p className="muted">This installation is new. Create the owner account and your first workspace.</p>
        <Field label="Email" error={errorFor('email')}>
          {(props) => <input {...props} type="email" autoComplete="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />}
        </Field>
        <Field label="Password" error={errorFor('password')} hint="At least 10 characters.">
          {(props) => (
            <input {...props} type="password" autoComplete="new-password" required value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
          )}
        </Field>
        <Field label="Workspace name" error={errorFor('workspace_name')}>
          {(props) => <input {...props} required value={form.workspace_name} onChange={(e) => setForm({ ...form, workspace_name: e.target.value })} />}
        </Field>
        {error && !error.field && (
          <p className="field-error" role="alert">
            {error.message}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create owner and workspace'}
        </button>
      </form>
    </main>
  );
}
