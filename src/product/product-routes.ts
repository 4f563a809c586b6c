import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Product } from './product.js';

/**
 * What the deployment's product file says, for the console and for any caller: the scope catalog
 * (what a key may be granted) and the product's name and colour (public: the sign-in page shows them).
 */
export const productRoutes: FastifyPluginAsyncZod<{ product: Product }> = async (app, { product }) => {
  // Built once: the catalog does not change while the process runs.
  const catalog = {
    object: 'list' as const,
    // `allows` repeats `description` under its old name, for clients written before the product file.
    data: product.scopes.map((s) => ({ scope: s.scope, group: s.group, description: s.description, allows: s.description })),
    has_more: false,
    next_cursor: null,
  };
  const about = { object: 'product' as const, name: product.name, accent_color: product.accentColor ?? null };

  app.get('/v1/scopes', { config: { permission: null, capability: null } }, async () => catalog);
  app.get('/v1/product', { config: { public: true, permission: null, capability: null } }, async () => about);
};
