import { useCallback, useEffect, useState } from 'react';
import { ApiError, api, messageOf, setCsrfToken } from '../api/client.ts';
import type { InvitationView } from '../api/types.ts';
import { roleLabel } from '../members/roles.ts';
import { Field } from '../ui/Field.tsx';
import { ErrorNote, Loading } from '../ui/States.tsx';
import { ExactTime } from '../ui/Time.tsx';
import { useSubmit } from '../ui/useSubmit.ts';

/** The token of an invitation link (`/#/invite/<token>`): in the fragment, so no server ever logs it. */
export function inviteTokenOf(hash: string): string {
  const match = /^#\/invite\/([A-Za-z0-9_-]{1,200})$/.exec(hash);
  return match?.[1] ?? '';
}

type View = { state: 'loading' } | { state: 'invalid'; error: unknown } | { state: 'ready'; invitation: InvitationView };

/**
 * Where an invitation link lands. A new person chooses a password; someone with an account signs in as
 * the invited email (the link alone never joins an existing account); then the console opens.
 */
export function AcceptInvitePage({ token, onJoined }: { token: string; onJoined: (workspaceId: string) => void }) {
  const [view, setView] = useState<View>({ state: 'loading' });
  const load = useCallback(async () => {
    setView({ state: 'loading' });
    // A session, if any, must send its CSRF token with the acceptance.
    await api.me().then((me) => setCsrfToken(me.csrf_token), () => setCsrfToken(''));
    try {
      setView({ state: 'ready', invitation: await api.invitation(token) });
    } catch (error) {
      setView({ state: 'invalid', error });
    }
  }, [token]);
  useEffect(() => void load(), [load]);

  if (view.state === 'loading') {
    return (
      <main className="auth-page">
        <Loading what="Opening the invitation" />
      </main>
    );
  }
  if (view.state === 'invalid') {
    return (
      <main className="auth-page">
        <section className="card auth-card" aria-labelledby="invite-title">
          <h1 id="invite-title">This invitation link does not work</h1>
          {view.error instanceof ApiError && view.error.code === 'not_found' ? (
            <p>It was used, revoked or it expired. Ask the person who invited you for a new link.</p>
          ) : (
            <ErrorNote message={messageOf(view.error)} onRetry={() => void load()} />
          )}
          <a className="button secondary" href="/">
            Go to sign in
          </a>
        </section>
      </main>
    );
  }
  const { invitation } = view;
  return (
    <main className="auth-page">
      <section className="card auth-card" aria-labelledby="invite-title">
        <h1 id="invite-title">Join {invitation.workspace.name}</h1>
        <p>
          <strong>{invitation.invited_by}</strong> invited <strong>{invitation.email}</strong> to join as <strong>{roleLabel(invitation.role)}</strong>.
        </p>
        <p className="hint">
          This link works once, until <ExactTime iso={invitation.expires_at} />.
        </p>
        <Acceptance token={token} invitation={invitation} onJoined={onJoined} onSignedOut={() => void load()} />
      </section>
    </main>
  );
}

function Acceptance({
  token,
  invitation,
  onJoined,
  onSignedOut,
}: {
  token: string;
  invitation: InvitationView;
  onJoined: (workspaceId: string) => void;
  onSignedOut: () => void;
}) {
  const [password, setPassword] = useState('');
  const needsSignIn = !invitation.needs_password && invitation.signed_in_as !== invitation.email;
  const { busy, onSubmit, errorFor, formError } = useSubmit(async () => {
    if (needsSignIn) setCsrfToken((await api.login({ email: invitation.email, password })).csrf_token);
    const joined = await api.acceptInvitation(token, invitation.needs_password ? { password } : {});
    if (joined.csrf_token) setCsrfToken(joined.csrf_token);
    onJoined(joined.workspace.id);
  });

  if (!invitation.needs_password && invitation.signed_in_as && invitation.signed_in_as !== invitation.email) {
    return (
      <div className="note warning">
        <p>
          You are signed in as <strong>{invitation.signed_in_as}</strong>. This invitation is for <strong>{invitation.email}</strong>: sign out, then sign in as{' '}
          {invitation.email} to accept it.
        </p>
        <button type="button" className="secondary" onClick={() => void api.logout().then(onSignedOut, onSignedOut)}>
          Sign out
        </button>
      </div>
    );
  }
  const label = invitation.needs_password ? 'Create account and join' : needsSignIn ? 'Sign in and join' : 'Accept and join';
  return (
    <form onSubmit={onSubmit} noValidate>
      <Field label="Email">{(props) => <input {...props} type="email" autoComplete="username" readOnly value={invitation.email} />}</Field>
      {invitation.needs_password && invitation.signed_in_as && (
        <p className="note">You are signed in as {invitation.signed_in_as}: joining signs you in as {invitation.email} instead.</p>
      )}
      {invitation.needs_password && (
        <Field label="Choose a password" error={errorFor('password')} hint="At least 10 characters. You sign in with this email and password.">
          {(props) => <input {...props} type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
      )}
      {needsSignIn && (
        <Field label="Password" error={errorFor('password')} hint={`${invitation.email} already has an account: sign in to accept.`}>
          {(props) => <input {...props} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
      )}
      {formError && (
        <p className="field-error" role="alert">
          {formError}
        </p>
      )}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Joining…' : label}
      </button>
    </form>
  );
}
