import { useState } from 'react';
import { api, setCsrfToken } from '../api/client.ts';
import { useProduct } from '../product.ts';
import { Field } from '../ui/Field.tsx';
import { useSubmit } from '../ui/useSubmit.ts';

/** A new installation's first visit: the first person creates the owner account and the workspace. */
export function SetupPage({ onDone }: { onDone: () => void }) {
  const product = useProduct();
  const [form, setForm] = useState({ email: '', password: '', workspace_name: '' });
  const { busy, onSubmit, errorFor, formError } = useSubmit(async () => {
    setCsrfToken((await api.setup(form)).csrf_token);
    onDone();
  });
  return (
    <main className="auth-page">
      <form className="card auth-card" onSubmit={onSubmit} noValidate>
        <h1>Set up {product.name}</h1>
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
        {formError && (
          <p className="field-error" role="alert">
            {formError}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create owner and workspace'}
        </button>
      </form>
    </main>
  );
}
