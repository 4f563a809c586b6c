import { useState, type FormEvent } from 'react';
import { api, fieldOf, messageOf, setCsrfToken } from '../api/client.ts';
import { Field } from '../ui/Field.tsx';

export function SignInPage({ onDone }: { onDone: () => void }) {
  const [form, setForm] = useState({ email: '', password: '' });
  const [error, setError] = useState<{ message: string; field?: string | undefined } | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await api.login(form);
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
        <h1>Sign in to Latchkey</h1>
        <Field label="Email" error={errorFor('email')}>
          {(props) => <input {...props} type="email" autoComplete="username" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />}
        </Field>
        <Field label="Password" error={errorFor('password')}>
          {(props) => (
            <input {...props} type="password" autoComplete="current-password" required value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
          )}
        </Field>
        {error && !error.field && (
          <p className="field-error" role="alert">
            {error.message}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
