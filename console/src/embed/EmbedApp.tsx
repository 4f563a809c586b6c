import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, setEmbedToken, whenEmbedEnded } from '../api/client.ts';
import type { EmbedSessionInfo, ProductInfo } from '../api/types.ts';
import { Pages } from '../Pages.tsx';
import { DEFAULT_PRODUCT, ProductContext } from '../product.ts';
import { SessionContext, type EmbedSession } from '../session/session.ts';
import { ErrorNote, Loading } from '../ui/States.tsx';
import { applyAccent } from './accent.ts';
import { EmbedLayout } from './EmbedLayout.tsx';
import { EmbedNotice } from './EmbedNotice.tsx';
import { codeOf, startEmbed, type EmbedStart } from './start.ts';
import { forgetToken } from './token-store.ts';

/** An ended session keeps its way back to the SaaS: the "session ended" page links to it. */
type View = { state: 'starting' } | Exclude<EmbedStart, { state: 'ended' }> | { state: 'ended'; returnUrl: string | null };

/** The longest a timer can wait (about 24.8 days); a session lasts at most 8 hours. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** Past the expiry by this computer's clock, how often to ask the server whether the session is over. */
const RECHECK_MS = 60_000;

/**
 * Embedded key management (`/embed…`): a SaaS's customer, sent here by a link the SaaS minted, manages the
 * keys of one workspace with the capabilities the link gave, in the SaaS's frame or as a page of its own.
 * No Latchkey account: the link's code becomes a bearer token, and no cookie is ever relied on.
 */
export function EmbedApp() {
  const [view, setView] = useState<View>({ state: 'starting' });
  // Try again, and a new link in the same page, start over.
  const [attempt, setAttempt] = useState(0);
  const restart = useCallback(() => {
    setView({ state: 'starting' });
    setAttempt((n) => n + 1);
  }, []);
  const [publicProduct, setPublicProduct] = useState<ProductInfo | null>(null);

  useEffect(() => {
    let current = true;
    void startEmbed().then((start) => current && setView(start.state === 'ended' ? { state: 'ended', returnUrl: null } : start));
    return () => {
      current = false;
    };
  }, [attempt]);

  // A new link opened in the same frame or tab may change only the fragment (`/embed#code=…` again): no
  // page load happens, so the new code is exchanged here.
  useEffect(() => {
    const update = () => {
      if (!codeOf(location.hash)) return;
      restart();
    };
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, [restart]);

  const end = useCallback(() => {
    forgetToken();
    setEmbedToken('');
    setView((last) => ({ state: 'ended', returnUrl: last.state === 'ready' ? last.session.return_url : last.state === 'ended' ? last.returnUrl : null }));
  }, []);
  // Any call told that the session is over (it expired, or its link was used again) ends the pages.
  useEffect(() => whenEmbedEnded(end), [end]);

  const session = view.state === 'ready' ? view.session : null;

  // The clear pages name the product too; without a session, its public description says which.
  useEffect(() => {
    if (session || publicProduct) return;
    api.product().then(setPublicProduct, () => undefined);
  }, [session, publicProduct]);

  // At its expiry the session is over: say so then, not at the next click. The server's word decides (this
  // computer's clock may be off): the session is asked for, and its 401 ends the pages.
  useEffect(() => {
    if (!session?.expires_at) return;
    const expiresAt = new Date(session.expires_at).getTime();
    let timer: ReturnType<typeof setTimeout>;
    const check = () => {
      void api.embedSession().catch(() => undefined);
      timer = setTimeout(check, RECHECK_MS);
    };
    timer = setTimeout(check, Math.min(MAX_TIMEOUT_MS, Math.max(0, expiresAt - Date.now()) + 1000));
    return () => clearTimeout(timer);
  }, [session]);

  const product = session?.product ?? publicProduct ?? DEFAULT_PRODUCT;
  useEffect(() => {
    applyAccent(product.accent_color);
    document.title = `API keys · ${product.name}`;
  }, [product]);

  return (
    <ProductContext.Provider value={product}>
      <EmbedView view={view} onRetry={restart} />
    </ProductContext.Provider>
  );
}

function EmbedView({ view, onRetry }: { view: View; onRetry: () => void }) {
  switch (view.state) {
    case 'starting':
      return (
        <main className="auth-page">
          <Loading what="Opening key management" />
        </main>
      );
    case 'error':
      return (
        <main className="auth-page">
          <section className="card auth-card" aria-labelledby="embed-error-title">
            <h1 id="embed-error-title">Key management could not open</h1>
            <ErrorNote message={view.message} onRetry={onRetry} />
          </section>
        </main>
      );
    case 'link':
      return <EmbedNotice problem={view.problem} returnUrl={view.returnUrl} />;
    case 'ended':
      return <EmbedNotice problem="ended" returnUrl={view.returnUrl} />;
    case 'ready':
      return <EmbedPages info={view.session} />;
  }
}

function EmbedPages({ info }: { info: EmbedSessionInfo }) {
  const session = useMemo<EmbedSession>(() => {
    const capabilities = new Set<string>(info.capabilities);
    return { kind: 'embed', workspace: { id: info.workspace.id, name: info.workspace.name }, can: (capability) => capabilities.has(capability) };
  }, [info]);
  return (
    <SessionContext.Provider value={session}>
      <EmbedLayout info={info}>
        <Pages />
      </EmbedLayout>
    </SessionContext.Provider>
  );
}
