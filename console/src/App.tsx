import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, api, messageOf, setCsrfToken, whenSignedOut } from './api/client.ts';
import type { Me, ProductInfo } from './api/types.ts';
import { Layout } from './Layout.tsx';
import { Pages } from './Pages.tsx';
import { DEFAULT_PRODUCT, ProductContext } from './product.ts';
import { AcceptInvitePage, inviteTokenOf } from './session/AcceptInvitePage.tsx';
import { SessionContext, type Session } from './session/session.ts';
import { SetupPage } from './session/SetupPage.tsx';
import { SignInPage } from './session/SignInPage.tsx';
import { ErrorNote, Loading } from './ui/States.tsx';

type Boot = { state: 'loading' } | { state: 'setup' } | { state: 'signin' } | { state: 'error'; message: string } | { state: 'ready'; me: Me };

const WORKSPACE_KEY = 'latchkey.workspace';

/** First run, sign-in, or the console for the signed-in user's current workspace, named for the deployment's product. */
export function App() {
  const [product, setProduct] = useState<ProductInfo>(DEFAULT_PRODUCT);
  useEffect(() => {
    api.product().then(
      (loaded) => {
        setProduct(loaded);
        document.title = `${loaded.name} console`;
      },
      // The name is a nicety: without it the console still works, under its own name.
      () => undefined,
    );
  }, []);
  return (
    <ProductContext.Provider value={product}>
      <Console />
    </ProductContext.Provider>
  );
}

function Console() {
  const [boot, setBoot] = useState<Boot>({ state: 'loading' });
  const [workspaceId, setWorkspaceId] = useState(() => localStorage.getItem(WORKSPACE_KEY) ?? '');
  const [inviteToken, setInviteToken] = useState(() => inviteTokenOf(location.hash));

  const loadMe = useCallback(async () => {
    try {
      const me = await api.me();
      setCsrfToken(me.csrf_token);
      setBoot({ state: 'ready', me });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) setBoot({ state: 'signin' });
      else setBoot({ state: 'error', message: messageOf(error) });
    }
  }, []);

  const start = useCallback(async () => {
    setBoot({ state: 'loading' });
    try {
      const { needs_setup } = await api.setupNeeded();
      if (needs_setup) setBoot({ state: 'setup' });
      else await loadMe();
    } catch (error) {
      setBoot({ state: 'error', message: messageOf(error) });
    }
  }, [loadMe]);

  useEffect(() => {
    whenSignedOut(() => setBoot({ state: 'signin' }));
    void start();
  }, [start]);

  // An invitation link pasted into a tab where the console is already open changes only the fragment.
  useEffect(() => {
    const update = () => setInviteToken(inviteTokenOf(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);

  const session = useMemo<Session | null>(() => {
    if (boot.state !== 'ready') return null;
    const workspaces = boot.me.workspaces;
    const workspace = workspaces.find((w) => w.id === workspaceId) ?? workspaces[0];
    if (!workspace) return null;
    return {
      kind: 'console',
      me: boot.me,
      workspace,
      switchWorkspace: (id) => {
        localStorage.setItem(WORKSPACE_KEY, id);
        setWorkspaceId(id);
      },
      // The server decides by role; a Member's refusal has its own page.
      can: () => true,
      signOut: async () => {
        await api.logout().catch(() => undefined);
        setCsrfToken('');
        setBoot({ state: 'signin' });
      },
    };
  }, [boot, workspaceId]);

  if (inviteToken) {
    return (
      <AcceptInvitePage
        token={inviteToken}
        onJoined={(id) => {
          localStorage.setItem(WORKSPACE_KEY, id);
          setWorkspaceId(id);
          // The link is spent: off the address bar and out of the history entry.
          history.replaceState(null, '', '/');
          setInviteToken('');
          void loadMe();
        }}
      />
    );
  }

  switch (boot.state) {
    case 'loading':
      return (
        <main className="auth-page">
          <Loading what="Opening the console" />
        </main>
      );
    case 'error':
      return (
        <main className="auth-page">
          <ErrorNote message={boot.message} onRetry={() => void start()} />
        </main>
      );
    case 'setup':
      return <SetupPage onDone={() => void loadMe()} />;
    case 'signin':
      return <SignInPage onDone={() => void loadMe()} />;
    case 'ready':
      if (!session) {
        return (
          <main className="auth-page">
            <ErrorNote message="You are not a member of any workspace yet. Ask an Owner or Admin of one to invite you." />
          </main>
        );
      }
      return (
        <SessionContext.Provider value={session}>
          <Layout>
            <Pages key={session.workspace.id} />
          </Layout>
        </SessionContext.Provider>
      );
  }
}
