import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachBackend } from './harness.js';
import { PRODUCT_ROUTES, routeName } from './product-routes.js';

describeEachBackend('OpenAPI document and reference page', (harness) => {
  it('describes every public route with the scope it needs, generated from the route schemas', async () => {
    const h = harness();
    const reply = await h.app.inject({ url: '/openapi.json' });
    assert.equal(reply.statusCode, 200);
    const doc = reply.json() as { openapi: string; paths: Record<string, Record<string, { 'x-required-scope': string | null; security: unknown; summary: string }>> };
    assert.equal(doc.openapi, '3.1.0');
    // The expectation is PRODUCT.md's table (test/product-routes.ts), not the code's route list: a scope
    // changed in the code must fail here, and a route added to the code must be added to the table.
    // The management API (/v1) is documented too, each operation with its permission: test/service-keys.test.ts.
    const documented = Object.entries(doc.paths)
      .filter(([path]) => !path.startsWith('/v1/'))
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => routeName({ method, path })));
    assert.deepEqual(documented.sort(), PRODUCT_ROUTES.map(routeName).sort(), 'exactly the public API of PRODUCT.md beside the management API');
    for (const route of PRODUCT_ROUTES) {
      const op = doc.paths[route.path]![route.method.toLowerCase()]!;
      assert.equal(op['x-required-scope'], route.scope, routeName(route));
      assert.deepEqual(op.security, [{ bearerAuth: route.scope ? [route.scope] : [] }], routeName(route));
      assert.ok(op.summary, `${routeName(route)} has a summary`);
    }
    const tickets = doc.paths['/api/v1/tickets']!.post as unknown as { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } };
    assert.ok(tickets.requestBody.content['application/json']!.schema.properties.subject, 'bodies come from the Zod schemas');
  });

  it('serves a readable reference at /docs', async () => {
    const h = harness();
    const reply = await h.app.inject({ url: '/docs/' });
    assert.equal(reply.statusCode, 200);
    assert.match(reply.headers['content-type'] as string, /text\/html/);
  });
});
