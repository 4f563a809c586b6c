import { createLatchkey } from '@latchkey/sdk';
import { createInvoicesApp } from './app.js';

const latchkey = createLatchkey({
  baseUrl: process.env.LATCHKEY_URL ?? 'http://127.0.0.1:3000',
  // A service key with the keys:verify permission.
  serviceKey: process.env.LATCHKEY_SERVICE_KEY ?? '',
});

const app = createInvoicesApp((scope) => latchkey.express({ scope }));
const port = Number(process.env.PORT ?? 4000);
const server = app.listen(port, '127.0.0.1', () => console.log(`invoices API on http://127.0.0.1:${port}`));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    latchkey.close();
  });
}
