import { ApiError, api, messageOf, setEmbedToken } from '../api/client.ts';
import type { EmbedSessionInfo } from '../api/types.ts';
import { forgetToken, loadToken, saveToken } from './token-store.ts';

/** What an embed link or a stored session opens on: the pages, or one of the clear pages that say what to do. */
export type EmbedStart =
  | { state: 'ready'; session: EmbedSessionInfo }
  | { state: 'link'; problem: 'expired' | 'used' | 'invalid'; returnUrl: string | null }
  | { state: 'ended' }
  | { state: 'error'; message: string };

/** The code of an embed link (`/embed#code=…`): in the fragment, so that no server or proxy logs it. */
export function codeOf(hash: string): string {
  return /^#code=([A-Za-z0-9_-]{1,200})$/.exec(hash)?.[1] ?? '';
}

/** `/embed`, where links land. */
function isEntry(pathname: string): boolean {
  return pathname === '/embed' || pathname === '/embed/';
}

/**
 * One exchange per code. The code works once, and React (StrictMode, a remount) may run the effect that
 * exchanges it twice: the second run gets the first one's answer instead of spending the code again and
 * being told it was used (which would also end the session the first run opened).
 */
const exchanges = new Map<string, ReturnType<typeof api.embedExchange>>();

function exchangeOnce(code: string): ReturnType<typeof api.embedExchange> {
  let exchange = exchanges.get(code);
  if (!exchange) {
    exchange = api.embedExchange(code);
    // A network failure may not have reached the server: Try again may send the code once more.
    exchange.catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 0) exchanges.delete(code);
    });
    exchanges.set(code, exchange);
  }
  return exchange;
}

/** The link's code if the address has one (exchanged, then off the address bar), else the tab's stored session. */
export async function startEmbed(): Promise<EmbedStart> {
  const code = codeOf(location.hash);
  try {
    if (code) {
      const { token, session } = await exchangeOnce(code);
      saveToken(token);
      setEmbedToken(token);
      history.replaceState(null, '', '/embed/keys');
      return { state: 'ready', session };
    }
    const token = loadToken();
    // Past `/embed` the tab had a session (the exchange leads there): without its token (storage blocked in
    // this frame, or the session was ended here) it is over. At `/embed` itself, the link lacks its code.
    if (!token) return isEntry(location.pathname) ? { state: 'link', problem: 'invalid', returnUrl: null } : { state: 'ended' };
    setEmbedToken(token);
    const session = await api.embedSession();
    if (isEntry(location.pathname)) history.replaceState(null, '', '/embed/keys');
    return { state: 'ready', session };
  } catch (error) {
    return startOfError(error);
  }
}

function startOfError(error: unknown): EmbedStart {
  const start = linkOrSessionProblem(error);
  // A link that does not open, or a session that is over: no earlier session of this tab reappears on reload.
  if (start.state !== 'error') {
    forgetToken();
    setEmbedToken('');
  }
  return start;
}

function linkOrSessionProblem(error: unknown): EmbedStart {
  if (error instanceof ApiError) {
    // An expired or used link still knows where its page was to lead back to.
    const returnUrl = typeof error.fields.return_url === 'string' ? error.fields.return_url : null;
    if (error.code === 'embed_link_expired') return { state: 'link', problem: 'expired', returnUrl };
    if (error.code === 'embed_link_used') return { state: 'link', problem: 'used', returnUrl };
    if (error.code === 'embed_link_not_found') return { state: 'link', problem: 'invalid', returnUrl: null };
    if (error.code === 'embed_session_invalid') return { state: 'ended' };
  }
  return { state: 'error', message: messageOf(error) };
}
