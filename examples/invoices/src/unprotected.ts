/**
 * The same API with no key check at all: the baseline of bench/sdk-middleware.ts, never to be deployed.
 * Every request acts as one fixed tenant.
 */
import type { VerifiedKey } from '@latchkey/sdk';
import { createInvoicesApp } from './app.js';

const everyone = {
  valid: true,
  code: 'valid',
  workspace: { id: 'ws_bench', external_id: 'bench' },
  key: { mode: 'live' },
} as unknown as VerifiedKey;

const app = createInvoicesApp(() => (req, _res, next) => {
  req.latchkey = everyone;
  next();
});
const port = Number(process.env.PORT ?? 4000);
const server = app.listen(port, '127.0.0.1', () => console.log(`invoices API (unprotected) on http://127.0.0.1:${port}`));
process.once('SIGTERM', () => server.close());
