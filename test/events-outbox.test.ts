import assert from 'node:assert/strict';
import { it } from 'node:test';
import { recordManagementEvent, type ActionContext } from '../src/audit/management-log.js';
import { emitEvent } from '../src/events/outbox.js';
import { newId } from '../src/ids.js';
import { createKey, describeEachBackend, newTenant, type Harness } from './harness.js';

/** The outbox (src/events/outbox.ts): an event is written with the change that causes it, and fanned out to the endpoints that want it. */

async function addEndpoint(h: Harness, fields: { audience: 'workspace' | 'installation' | 'product'; workspaceId?: string; mode?: 'live' | 'test'; events: string[]; enabled?: boolean }) {
  const id = newId('whe');
  await h.db
    .insertInto('event_endpoints')
    .values({ id, audience: fields.audience, workspace_id: fields.workspaceId ?? null, mode: fields.mode ?? null, url: 'https://hooks.example.com/x', events: fields.events, enabled: fields.enabled ?? true, service_key_id: null, description: null, disabled_at: null, disabled_reason: null, created_by: null })
    .execute();
  return id;
}

const deliveriesOf = (h: Harness, eventId: string) =>
  h.db.selectFrom('event_deliveries').select(['endpoint_id', 'status']).where('event_id', '=', eventId).orderBy('endpoint_id').execute();

describeEachBackend('events outbox', (harness) => {
  it('a key created writes api_key.created with the key as the API shows it, never its secret, to each endpoint that wants it', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const other = await newTenant(h);
    const wanted = await addEndpoint(h, { audience: 'workspace', workspaceId: tenant.workspaceId, events: ['api_key.created'] });
    const everything = await addEndpoint(h, { audience: 'workspace', workspaceId: tenant.workspaceId, events: ['*'] });
    const installation = await addEndpoint(h, { audience: 'installation', events: ['api_key.created', 'api_key.revoked'] });
    await addEndpoint(h, { audience: 'workspace', workspaceId: tenant.workspaceId, events: ['api_key.revoked'] });
    await addEndpoint(h, { audience: 'workspace', workspaceId: tenant.workspaceId, events: ['*'], enabled: false });
    await addEndpoint(h, { audience: 'workspace', workspaceId: other.workspaceId, events: ['*'] });
    await addEndpoint(h, { audience: 'product', workspaceId: tenant.workspaceId, mode: 'live', events: ['*'] });

    const created = await createKey(tenant, { name: 'events-key' });
    assert.equal(created.status, 201);
    const event = await h.db.selectFrom('events').selectAll().where('workspace_id', '=', tenant.workspaceId).where('type', '=', 'api_key.created').executeTakeFirstOrThrow();
    const body = JSON.parse(event.body);
    assert.equal(body.id, event.id);
    assert.match(body.id, /^evt_/);
    assert.deepEqual(body.workspace, { id: tenant.workspaceId, external_id: null });
    assert.equal(body.data.object.id, created.body.id);
    assert.equal(body.data.object.name, 'events-key');
    assert.deepEqual(body.data.actor, { type: 'user', id: tenant.userId, email: tenant.email });
    assert.ok(!event.body.includes(created.body.secret), 'the secret is not in the event');
    assert.ok(!event.body.includes(created.body.secret.slice(12)), 'nor any of its private part');
    const deliveries = await deliveriesOf(h, event.id);
    assert.deepEqual(deliveries.map((d) => d.endpoint_id).sort(), [wanted, everything, installation].sort());
    assert.ok(deliveries.every((d) => d.status === 'pending'));
  });

  it('an event and its change commit together or not at all', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    await addEndpoint(h, { audience: 'workspace', workspaceId: tenant.workspaceId, events: ['*'] });
    const context: ActionContext = { actor: { id: tenant.userId, email: tenant.email }, sourceIp: '127.0.0.1', userAgent: undefined, requestId: 'req-test' };
    const countEvents = async () => (await h.db.selectFrom('events').select('id').where('workspace_id', '=', tenant.workspaceId).execute()).length;
    const before = await countEvents();
    await assert.rejects(
      h.db.transaction().execute(async (tx) => {
        await recordManagementEvent(tx, context, { workspaceId: tenant.workspaceId, action: 'api_key.revoke', event: { type: 'api_key.revoked', data: { object: { id: 'key_x' } } } });
        throw new Error('the change fails after its event was written');
      }),
      /the change fails/,
    );
    assert.equal(await countEvents(), before, 'no event without its change');
  });

  it('the reference product’s events go to its webhooks in that view only', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const live = await addEndpoint(h, { audience: 'product', workspaceId: tenant.workspaceId, mode: 'live', events: ['ticket.created'] });
    await addEndpoint(h, { audience: 'product', workspaceId: tenant.workspaceId, mode: 'test', events: ['ticket.created'] });
    await addEndpoint(h, { audience: 'workspace', workspaceId: tenant.workspaceId, events: ['*'] });
    await addEndpoint(h, { audience: 'installation', events: ['*'] });
    const body = await h.db.transaction().execute((tx) => emitEvent(tx, { type: 'ticket.created', workspaceId: tenant.workspaceId, mode: 'live', data: { object: { id: 'tkt_1' } } }));
    assert.equal(body.mode, 'live');
    assert.deepEqual((await deliveriesOf(h, body.id)).map((d) => d.endpoint_id), [live]);
  });
});
