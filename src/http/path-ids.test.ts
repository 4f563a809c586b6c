import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathIdsOf } from './path-ids.js';

describe('pathIdsOf', () => {
  it('names every id parameter of a route with its prefix', () => {
    assert.deepEqual(
      pathIdsOf('/v1/workspaces/:workspace_id/api-keys/:key_id/secrets/:secret_id/revoke', undefined).map((id) => [id.name, id.prefix]),
      [['workspace_id', 'ws'], ['key_id', 'key'], ['secret_id', 'sec']],
    );
    assert.deepEqual(pathIdsOf('/api/v1/tickets/:id', { prefix: 'tkt', noun: 'ticket' }), [{ name: 'id', prefix: 'tkt', noun: 'ticket' }]);
    assert.deepEqual(pathIdsOf('/api/v1/tickets', undefined), []);
    assert.deepEqual(pathIdsOf('/docs/static/*', undefined), []);
  });

  it('refuses, at start, a route whose id parameter has no known prefix', () => {
    assert.throws(() => pathIdsOf('/api/v1/tickets/:id', undefined), /:id has no id prefix/);
    assert.throws(() => pathIdsOf('/v1/workspaces/:workspace_id/sessions/:session_id', undefined), /:session_id has no id prefix/);
  });
});
