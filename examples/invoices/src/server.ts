import { createLatchkey } from '@latchkey/sdk';
import { createInvoicesApp, type Protect } from './app.js';
import { gatewayGuard } from './gateway-guard.js';

/**
 * Two ways to run behind Latchkey: with LATCHKEY_GATEWAY_JWKS_URL, Latchkey's gateway is in front and we
 * check the principal it signed; else we check each caller's key ourselves with the SDK's middleware.
 */
function protection(): { protect: Protect; close(): void } {
  const jwksUrl = process.env.LATCHKEY_GATEWAY_JWKS_URL;
  if (jwksUrl) {
    // Our upstream's name in the product file (latchkey.gateway.product.yaml): tokens made for another are refused.
    return { protect: gatewayGuard({ jwksUrl, audience: process.env.LATCHKEY_GATEWAY_AUDIENCE ?? 'invoices' }), close: () => {} };
  }
  const latchkey = createLatchkey({
    baseUrl: process.env.LATCHKEY_URL ?? 'http://127.0.0.1:3000',
    // A service key with the keys:verify permission.
    serviceKey: process.env.LATCHKEY_SERVICE_KEY ?? '',
  });
  return { protect: (scope) => latchkey.express({ scope }), close: latchkey.close };
}

const { protect, close } = protection();
const app = createInvoicesApp(protect);
const port = Number(process.env.PORT ?? 4000);
const server = app.listen(port, '127.0.0.1', () => console.log(`invoices API on http://127.0.0.1:${port}`));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    close();
  });
}
