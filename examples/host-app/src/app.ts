import express, { type NextFunction, type Request, type Response } from 'express';
import { fileURLToPath } from 'node:url';
import type { Html } from './html.js';
import { MintError, type EmbedMinter } from './latchkey.js';
import { findUser, type User } from './users.js';
import { accountPage, apiAccessPage, customersPage, errorPage, invoicesPage, signInPage } from './views.js';

export interface HostAppOptions {
  /** Makes the single-use links to Latchkey's key management (./latchkey.ts). */
  minter: EmbedMinter;
  /** Where our customers' integrations call our API: shown on the API access page. */
  invoicesApiUrl: string;
}

/** Our own sign-in cookie. A stub: in a real app, your session. */
const SESSION_COOKIE = 'invoicely_user';

function signedInUser(req: Request): User | undefined {
  const cookies = req.headers.cookie?.split(';') ?? [];
  const value = cookies.map((c) => c.trim()).find((c) => c.startsWith(`${SESSION_COOKIE}=`))?.slice(SESSION_COOKIE.length + 1);
  return findUser(value === undefined ? undefined : decodeURIComponent(value));
}

/** The page, with a policy that lets it frame nothing but Latchkey (and nobody frame it). */
function send(res: Response, page: Html, frameOrigin?: string, status = 200): void {
  res
    .status(status)
    .set({
      'content-security-policy': `default-src 'self'; img-src 'self' data:; frame-src ${frameOrigin ?? "'none'"}; frame-ancestors 'none'; form-action 'self'; base-uri 'none'`,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    })
    .type('html')
    .send(page.value);
}

/** What the person sees when no link could be made: what happened, never a stack. */
function failureText(error: MintError): string {
  if (error.code === 'latchkey_unreachable' || error.code === 'latchkey_timeout') return 'We could not reach our key service.';
  if (error.code === 'insufficient_permission') return `Our key service refused to open it for you (our setup lacks a permission; code ${error.code}).`;
  return `Our key service answered with an error (code ${error.code}).`;
}

export function createHostApp({ minter, invoicesApiUrl }: HostAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.static(fileURLToPath(new URL('../public', import.meta.url)), { index: false, maxAge: '1h' }));
  app.use(express.urlencoded({ extended: false, limit: '2kb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/', (req, res) => res.redirect(signedInUser(req) ? '/invoices' : '/sign-in'));
  app.get('/sign-in', (_req, res) => send(res, signInPage()));
  app.post('/sign-in', (req, res) => {
    const user = findUser(typeof req.body?.user === 'string' ? req.body.user : undefined);
    if (!user) return send(res, errorPage('Sign in', 'No such user.'), undefined, 400);
    res.cookie(SESSION_COOKIE, user.id, { httpOnly: true, sameSite: 'lax', path: '/' });
    res.redirect(303, '/settings/api-access');
  });
  app.post('/sign-out', (_req, res) => {
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.redirect(303, '/sign-in');
  });

  /** Everything below needs someone signed in. */
  const signedIn = express.Router();
  signedIn.use((req, res, next) => {
    const user = signedInUser(req);
    if (!user) return res.redirect('/sign-in');
    res.locals.user = user;
    next();
  });
  const userOf = (res: Response) => res.locals.user as User;

  signedIn.get('/invoices', (_req, res) => send(res, invoicesPage(userOf(res))));
  signedIn.get('/customers', (_req, res) => send(res, customersPage(userOf(res))));
  signedIn.get('/settings', (_req, res) => res.redirect('/settings/api-access'));
  signedIn.get('/settings/account', (_req, res) => send(res, accountPage(userOf(res))));

  // A fresh link on every view: each works once, for five minutes.
  signedIn.get('/settings/api-access', async (_req, res) => {
    const user = userOf(res);
    try {
      const link = await minter.mint(user);
      send(res, apiAccessPage(user, { url: link.url }, invoicesApiUrl), new URL(link.url).origin);
    } catch (error) {
      if (!(error instanceof MintError)) throw error;
      console.error(`embed link for ${user.id}: ${error.message}`);
      send(res, apiAccessPage(user, { failure: failureText(error) }, invoicesApiUrl), undefined, 503);
    }
  });

  // The same pages as a whole tab, with a way back here: minted when clicked, so it is never stale.
  signedIn.get('/settings/api-access/full-page', async (req, res) => {
    const user = userOf(res);
    try {
      const link = await minter.mint(user, `${req.protocol}://${req.get('host')}/settings/api-access`);
      res.redirect(303, link.url);
    } catch (error) {
      if (!(error instanceof MintError)) throw error;
      console.error(`embed link for ${user.id}: ${error.message}`);
      send(res, errorPage('API access', `${failureText(error)} Try again in a minute.`, user), undefined, 503);
    }
  });
  app.use(signedIn);

  app.use((req, res) => send(res, errorPage('Page not found', 'There is no page at this address.', signedInUser(req)), undefined, 404));
  app.use((error: Error, req: Request, res: Response, _next: NextFunction) => {
    console.error(error);
    send(res, errorPage('Something went wrong', 'Please try again.', signedInUser(req)), undefined, 500);
  });
  return app;
}
