import { createHostApp } from './app.js';
import { createEmbedMinter } from './latchkey.js';

const serviceKey = process.env.LATCHKEY_SERVICE_KEY;
if (!serviceKey) {
  console.error('set LATCHKEY_SERVICE_KEY: a service key with embed:create, workspaces:read, workspaces:write, keys:read, keys:write and audit:read');
  process.exit(1);
}

const app = createHostApp({
  minter: createEmbedMinter({ baseUrl: process.env.LATCHKEY_URL ?? 'http://127.0.0.1:4000', serviceKey }),
  invoicesApiUrl: process.env.INVOICES_API_URL ?? 'http://127.0.0.1:4100',
});
const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, '127.0.0.1', () => console.log(`Invoicely on http://localhost:${port}`));

// Open keep-alive connections (a browser's) would hold the process up.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
  });
}
