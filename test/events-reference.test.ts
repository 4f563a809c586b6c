import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiCall, createKey, describeEachBackend, newTenant, type Harness, type Tenant } from './harness.js';

/**
 * The reference product's webhooks (/api/v1/webhooks) are event endpoints of the product audience: its
 * writes send conversation.created, contact.upserted, ticket.created and ticket.updated to the webhooks
 * of the caller's view only, in the write's transaction.
 */

const SCOPES = ['webhooks:manage', 'tickets:read', 'tickets:write', 'contacts:write', 'conversations:write'];

async function productKey(h: Harness, tenant: Tenant, mode: 'live' | 'test'): Promise<string> {
  const created = await createKey(tenant, { name: `product-${mode}`, mode, scopes: SCOPES });
  assert.equal(created.status, 201, created.raw);
  return created.body.secret as string;
}

async function addWebhook(h: Harness, secret: string, events: string[]): Promise<{ id: string; secret: string }> {
  const reply = await apiCall(h, secret, '/api/v1/webhooks', { method: 'POST', body: { url: 'https://hooks.example.com/product', events } });
  assert.equal(reply.status, 201, reply.raw);
  return reply.body;
}

/** The events of a type in a workspace, oldest first, each with the endpoints it was sent to. */
async function sent(h: Harness, workspaceId: string, type: string) {
  const events = await h.db.selectFrom('events').selectAll().where('workspace_id', '=', workspaceId).where('type', '=', type).orderBy('created_at').orderBy('id').execute();
  return Promise.all(
    events.map(async (event) => ({
      body: JSON.parse(event.body),
      mode: event.mode,
      to: (await h.db.selectFrom('event_deliveries').select('endpoint_id').where('event_id', '=', event.id).execute()).map((d) => d.endpoint_id).sort(),
    })),
  );
}

describeEachBackend('events of the reference product', (harness) => {
  it('a ticket created through /api/v1 sends ticket.created, with the ticket as the API answered it, to the webhooks of that view that want it only', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const live = await productKey(h, tenant, 'live');
    const test = await productKey(h, tenant, 'test');
    const wanted = await addWebhook(h, live, ['ticket.created', 'ticket.updated']);
    await addWebhook(h, live, ['contact.upserted']);
    const testView = await addWebhook(h, test, ['ticket.created']);
    const otherTenant = await newTenant(h);
    await addWebhook(h, await productKey(h, otherTenant, 'live'), ['ticket.created']);
    // Latchkey's own endpoints never receive the product's events.
    const own = await tenant.client.post(`/v1/workspaces/${tenant.workspaceId}/event-endpoints`, { url: 'https://hooks.example.com/own', events: ['*'] });
    assert.equal(own.status, 201, own.raw);

    const ticket = await apiCall(h, live, '/api/v1/tickets', { method: 'POST', body: { subject: 'Charged twice', priority: 'high' } });
    assert.equal(ticket.status, 201, ticket.raw);
    const created = await sent(h, tenant.workspaceId, 'ticket.created');
    assert.equal(created.length, 1);
    const [event] = created;
    assert.deepEqual(event?.to, [wanted.id]);
    assert.equal(event?.mode, 'live');
    assert.equal(event?.body.mode, 'live');
    assert.deepEqual(event?.body.workspace, { id: tenant.workspaceId, external_id: null });
    assert.deepEqual(event?.body.data, { object: ticket.body });

    const updated = await apiCall(h, live, `/api/v1/tickets/${ticket.body.id}`, { method: 'PATCH', body: { status: 'solved' } });
    assert.equal(updated.status, 200, updated.raw);
    const changes = await sent(h, tenant.workspaceId, 'ticket.updated');
    assert.deepEqual(changes.map((c) => [c.to, c.body.data.object]), [[[wanted.id], updated.body]]);

    const inTest = await apiCall(h, test, '/api/v1/tickets', { method: 'POST', body: { subject: 'A test ticket' } });
    assert.equal(inTest.status, 201);
    const both = await sent(h, tenant.workspaceId, 'ticket.created');
    assert.deepEqual(both.map((e) => [e.mode, e.to]), [['live', [wanted.id]], ['test', [testView.id]]]);

    // A write that fails sends nothing.
    const refused = await apiCall(h, live, '/api/v1/tickets', { method: 'POST', body: { subject: 'x', contact_id: 'cont_01m8xwz301dtqnx5tya33231bq' } });
    assert.equal(refused.status, 400, refused.raw);
    assert.equal((await sent(h, tenant.workspaceId, 'ticket.created')).length, 2);
  });

  it('contacts upserted and conversations ingested send contact.upserted and conversation.created', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const live = await productKey(h, tenant, 'live');
    const hook = await addWebhook(h, live, ['contact.upserted', 'conversation.created']);

    const first = await apiCall(h, live, '/api/v1/contacts', { method: 'POST', body: { email: 'ada@example.com', name: 'Ada' } });
    assert.equal(first.status, 201, first.raw);
    const again = await apiCall(h, live, '/api/v1/contacts', { method: 'POST', body: { email: 'ada@example.com', phone: '+1 555 0100' } });
    assert.equal(again.status, 200, again.raw);
    const upserts = await sent(h, tenant.workspaceId, 'contact.upserted');
    assert.deepEqual(upserts.map((u) => [u.to, u.body.data.object]), [[[hook.id], first.body], [[hook.id], again.body]]);

    const conversation = await apiCall(h, live, '/api/v1/conversations', {
      method: 'POST',
      body: { participants: [{ id: 'c', role: 'customer' }], messages: [{ participant: 'c', text: 'Hello', sent_at: '2026-01-01T10:00:00Z' }] },
    });
    assert.equal(conversation.status, 201, conversation.raw);
    const conversations = await sent(h, tenant.workspaceId, 'conversation.created');
    assert.deepEqual(conversations.map((c) => [c.to, c.body.data.object]), [[[hook.id], conversation.body]]);
  });

  it('a webhook is an event endpoint of its view, with a secret shown once; the public object keeps its shape', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const live = await productKey(h, tenant, 'live');
    const keyId = (await h.db.selectFrom('api_keys').select('id').where('workspace_id', '=', tenant.workspaceId).where('name', '=', 'product-live').executeTakeFirstOrThrow()).id;
    const created = await apiCall(h, live, '/api/v1/webhooks', { method: 'POST', body: { url: 'https://hooks.example.com/p', events: ['ticket.created'], description: 'Helpdesk' } });
    assert.equal(created.status, 201, created.raw);
    assert.match(created.body.id, /^whk_/);
    assert.match(created.body.secret, /^whsec_/);
    const { secret, ...shown } = created.body;
    assert.deepEqual(Object.keys(shown).sort(), ['created_at', 'description', 'enabled', 'events', 'id', 'object', 'updated_at', 'url']);
    const got = await apiCall(h, live, `/api/v1/webhooks/${created.body.id}`);
    assert.deepEqual(got.body, shown, 'no secret when read');
    const listed = await apiCall(h, live, '/api/v1/webhooks');
    assert.ok(!listed.raw.includes(secret.slice(6)));

    const row = await h.db.selectFrom('event_endpoints').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
    assert.deepEqual([row.audience, row.workspace_id, row.mode, row.created_by], ['product', tenant.workspaceId, 'live', keyId]);
    const secrets = await h.db.selectFrom('event_endpoint_secrets').select('secret').where('endpoint_id', '=', created.body.id).execute();
    assert.deepEqual(secrets.map((s) => s.secret), [secret]);
    assert.equal((await h.db.selectFrom('api_records').select('id').where('kind', '=', 'webhook_endpoint').where('workspace_id', '=', tenant.workspaceId).execute()).length, 0, 'one source of truth');

    // Not reachable through the management API's endpoints, and the other way round.
    assert.equal((await tenant.client.get(`/v1/workspaces/${tenant.workspaceId}/event-endpoints`)).body.data.length, 0);
    const refused = await apiCall(h, live, '/api/v1/webhooks', { method: 'POST', body: { url: 'http://hooks.example.com/p', events: ['ticket.created'] } });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.param, 'url');
    const unknown = await apiCall(h, live, '/api/v1/webhooks', { method: 'POST', body: { url: 'https://hooks.example.com/p', events: ['api_key.created'] } });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.param, 'events.0');
  });
});
