import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { newId } from '../src/ids.js';
import { apiCall, createKey, describeEachBackend, newTenant, type Reply, type Tenant } from './harness.js';

/**
 * Every id in a path is checked for shape (its prefix, the id alphabet and length of src/ids.ts) before
 * anything looks it up: an id of the wrong shape answers 404 not_found, as an unknown id does, never a 500
 * (a NUL reaching PostgreSQL) and never a database round trip. Strings stored in the database refuse NUL
 * and lone surrogates with 400.
 */

/** Ids of the wrong shape, as a path segment (already %-encoded where needed). */
function wrongShapes(good: string): Array<[string, string]> {
  const [prefix] = good.split('_');
  return [
    ['a NUL (%00) inside', `${prefix}%00x`],
    ['a NUL replacing one character', `${good.slice(0, -1)}%00`],
    ['the right shape with another prefix', `zzz_${good.slice(good.indexOf('_') + 1)}`],
    ['a letter outside the alphabet (u)', `${good.slice(0, -1)}u`],
    ['upper case', good.toUpperCase()],
    ['one character short', good.slice(0, -1)],
    ['one character long', `${good}0`],
    ['unicode', `${prefix}_${'é'.repeat(26)}`.replace(/é/g, encodeURIComponent('é'))],
    ['99 characters', 'x'.repeat(99)],
  ];
}

function assertNotFound(reply: Reply, what: string): void {
  assert.equal(reply.status, 404, `${what}: answered ${reply.status} ${reply.raw}`);
  assert.equal(reply.body?.error?.code, 'not_found', `${what}: ${reply.raw}`);
}

describeEachBackend('ids in paths', (harness) => {
  let tenant: Tenant;
  let keyId: string;
  let secret: string;

  before(async () => {
    tenant = await newTenant(harness());
    const created = await createKey(tenant, { scopes: ['tickets:read', 'tickets:write', 'webhooks:manage'] });
    assert.equal(created.status, 201, created.raw);
    keyId = created.body.id;
    secret = created.body.secret;
  });

  it('a workspace id of the wrong shape answers 404 not_found, signed in, on every workspace route', async () => {
    for (const [what, bad] of wrongShapes(tenant.workspaceId)) {
      for (const path of ['api-keys', 'members', 'audit-events', 'management-events', 'anomalies']) {
        assertNotFound(await tenant.client.get(`/v1/workspaces/${bad}/${path}`), `${what}, ${path}`);
      }
    }
  });

  it('a key, user, secret, event or invitation id of the wrong shape answers 404 not_found', async () => {
    const ws = `/v1/workspaces/${tenant.workspaceId}`;
    for (const [what, bad] of wrongShapes(keyId)) {
      assertNotFound(await tenant.client.get(`${ws}/api-keys/${bad}`), `key id: ${what}`);
      assertNotFound(await tenant.client.patch(`${ws}/api-keys/${bad}`, { name: 'x' }), `key id (PATCH): ${what}`);
      assertNotFound(await tenant.client.post(`${ws}/api-keys/${keyId}/secrets/${bad}/revoke`), `secret id: ${what}`);
      assertNotFound(await tenant.client.patch(`${ws}/members/${bad}`, { role: 'admin' }), `user id: ${what}`);
      assertNotFound(await tenant.client.get(`${ws}/audit-events/${bad}`), `event id: ${what}`);
      assertNotFound(await tenant.client.delete(`${ws}/members/${bad}`), `user id (DELETE): ${what}`);
      assertNotFound(await tenant.client.delete(`${ws}/invitations/${bad}`), `invitation id: ${what}`);
    }
  });

  it('the well-formed but unknown id answers the same 404 as the wrong shape', async () => {
    assertNotFound(await tenant.client.get(`/v1/workspaces/${newId('ws')}/api-keys`), 'unknown workspace');
    assertNotFound(await tenant.client.get(`/v1/workspaces/${tenant.workspaceId}/api-keys/${newId('key')}`), 'unknown key');
  });

  it('a product-API id of the wrong shape answers 404 not_found (after the key check)', async () => {
    const h = harness();
    const ticket = await apiCall(h, secret, '/api/v1/tickets', { method: 'POST', body: { subject: 'Printer' } });
    assert.equal(ticket.status, 201, ticket.raw);
    for (const [what, bad] of wrongShapes(ticket.body.id)) {
      assertNotFound(await apiCall(h, secret, `/api/v1/tickets/${bad}`), `ticket id: ${what}`);
      assertNotFound(await apiCall(h, secret, `/api/v1/tickets/${bad}`, { method: 'PATCH', body: { subject: 'x' } }), `ticket id (PATCH): ${what}`);
    }
    // A contact's id is not a ticket's: the prefix is part of the shape.
    const contactId = newId('cont');
    assertNotFound(await apiCall(h, secret, `/api/v1/tickets/${contactId}`), 'a contact id on the tickets route');
    // Without a key, the key check answers first: an unauthenticated caller learns nothing about the id.
    assert.equal((await apiCall(h, null, '/api/v1/tickets/tkt%00')).status, 401);
  });

  it('signed out, a wrong-shape id answers 401 like any other management route', async () => {
    const h = harness();
    const reply = await h.app.inject({ method: 'GET', url: '/v1/workspaces/ws%00x/api-keys' });
    assert.equal(reply.statusCode, 401, reply.body);
  });

  it('a webhook url with a NUL or a lone surrogate answers 400 invalid_request on url', async () => {
    const h = harness();
    for (const url of ['https://a.example/\u0000x', 'https://a.example/\ud800']) {
      const reply = await apiCall(h, secret, '/api/v1/webhooks', { method: 'POST', body: { url, events: ['ticket.created'] } });
      assert.equal(reply.status, 400, reply.raw);
      assert.equal(reply.body.error.code, 'invalid_request', reply.raw);
      assert.equal(reply.body.error.param, 'url', reply.raw);
    }
  });

  it('a webhook url aimed inside the network answers 400 invalid_request on url, and a public one is kept as written', async () => {
    const h = harness();
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[::1]:6379/', 'http://0x7f.1/', 'https://u:p@hooks.example.com/']) {
      const reply = await apiCall(h, secret, '/api/v1/webhooks', { method: 'POST', body: { url, events: ['ticket.created'] } });
      assert.equal(reply.status, 400, `${url}: ${reply.raw}`);
      assert.equal(reply.body.error.param, 'url', reply.raw);
      assert.match(reply.body.error.message, /^url must /, reply.raw);
    }
    const ok = await apiCall(h, secret, '/api/v1/webhooks', { method: 'POST', body: { url: 'https://hooks.example.com/in', events: ['ticket.created'] } });
    assert.equal(ok.status, 201, ok.raw);
    assert.equal(ok.body.url, 'https://hooks.example.com/in');
    const patched = await apiCall(h, secret, `/api/v1/webhooks/${ok.body.id}`, { method: 'PATCH', body: { url: 'http://10.0.0.1/' } });
    assert.equal(patched.status, 400, patched.raw);
  });
});
