import { useState } from 'react';
import { api, setCsrfToken } from '../api/client.ts';
import { useProduct } from '../product.ts';
import { Field } from '../ui/Field.tsx';
import { useSubmit } from '../ui/useSubmit.ts';

export function SignInPage({ onDone }: { onDone: () => void }) {
  const product = useProduct();
  const [form, setForm] = useState({ email: '', password: '' });
  const { busy, onSubmit, errorFor, formError } = useSubmit(async () => {
    setCsrfToken((await api.login(form)).csrf_token);
    onDone();
  });
  return (
    <main className="auth-page">
      <form className="card auth-card" onSubmit={onSubmit} noValidate>
        <h1>Sign in to {product.name}</h1>
        <Field label="Email" error={errorFor('email')}>
          {(props) => <input {...props} type="email" autoComplete="username" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />}
        </Field>
        <Field label="Password" error={errorFor('password')}>
          {(props) => (
            <input {...props} type="password" autoComplete="current-password" required value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
          )}
        </Field>
        {formError && (
          <p className="field-error" role="alert">
            {formError}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
