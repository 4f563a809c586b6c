import assert from 'node:assert/strict';
import { it } from 'node:test';
import { API_ROUTES } from '../src/api/resources.js';
import { describeEachBackend } from './harness.js';

describeEachBackend('OpenAPI document and reference page', (harness) => {
  it('describes every public route with the scope it needs, generated from the route schemas', async () => {
    const h = harness();
    const reply = await h.app.inject({ url: '/openapi.json' });
    assert.equal(reply.statusCode, 200);
    const doc = reply.json() as { openapi: string; paths: Record<string, Record<string, { 'x-required-scope': string | null; security: unknown; summary: string }>> };
    assert.equal(doc.openapi, '3.1.0');
    const expected = [
      ...API_ROUTES.map((r) => ({ method: r.method.toLowerCase(), path: r.url.replace(':id', '{id}'), scope: r.scope as string | null })),
      { method: 'get', path: '/api/v1/api_keys/current', scope: null },
      { method: 'post', path: '/api/v1/api_keys/current/rotate', scope: 'keys:rotate_self' },
      { method: 'get', path: '/api/v1/ping', scope: null },
    ];
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method, path, scope: op['x-required-scope'] })));
    const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;
    assert.deepEqual(documented.map(key).sort(), expected.map(key).sort(), 'exactly the public API, nothing of the management API');
    for (const route of expected) {
      const op = doc.paths[route.path]![route.method]!;
      assert.equal(op['x-required-scope'], route.scope, key(route));
      assert.deepEqual(op.security, [{ bearerAuth: route.scope ? [route.scope] : [] }]);
      assert.ok(op.summary, `${key(route)} has a summary`);
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
