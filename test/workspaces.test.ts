import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { generateSecret, generateServiceSecret } from '../src/keys/key-format.js';
import { describeEachBackend, newTenant, serviceClient, uniqueEmail, type Harness } from './harness.js';
import { inviteAndJoin } from './invite.js';

/** An external id no other test (or run, on a shared PostgreSQL) uses. */
function externalId(label = 'acme'): string {
  return `${label}-${randomBytes(6).toString('hex')}`;
}

async function managementEvents(h: Harness, workspaceId: string) {
  return h.db.selectFrom('management_events').selectAll().where('workspace_id', '=', workspaceId).orderBy('id').execute();
}

describeEachBackend('workspaces by external id', (harness) => {
  it('a service key creates a workspace with no members, its external id and metadata, recorded with the key as actor', async () => {
    const h = harness();
    const backend = await serviceClient(h, ['workspaces:write', 'workspaces:read']);
    const ext = externalId();
    const created = await backend.request('POST', '/v1/workspaces', { name: 'Acme Corp', external_id: ext, metadata: { plan: 'pro', seats: 12 } }, { 'latchkey-on-behalf-of': 'admin@saas.example' });
    assert.equal(created.status, 201, created.raw);
    const ws = created.body;
    assert.match(ws.id, /^ws_/);
    assert.deepEqual(Object.keys(ws).sort(), ['created_at', 'external_id', 'id', 'metadata', 'name', 'object', 'rate_limit_ceiling']);
    assert.deepEqual({ object: ws.object, name: ws.name, external_id: ws.external_id, metadata: ws.metadata }, { object: 'workspace', name: 'Acme Corp', external_id: ext, metadata: { plan: 'pro', seats: 12 } });
    assert.equal(typeof ws.rate_limit_ceiling.per_minute, 'number');
    assert.ok(!Number.isNaN(Date.parse(ws.created_at)));

    const memberships = await h.db.selectFrom('memberships').select('user_id').where('workspace_id', '=', ws.id).execute();
    assert.deepEqual(memberships, [], 'no members');
    assert.deepEqual((await backend.get(`/v1/workspaces/${ws.id}`)).body, ws);

    const [event] = await managementEvents(h, ws.id);
    assert.equal(event?.action, 'workspace.create');
    assert.equal(event?.actor_service_key_id, backend.serviceKeyId);
    assert.equal(event?.actor_user_id, null);
    assert.equal(event?.on_behalf_of, 'admin@saas.example');
  });

  it('a second create with the same external id answers 409 external_id_taken naming the workspace, also under concurrency', async () => {
    const h = harness();
    const backend = await serviceClient(h, ['workspaces:write']);
    const ext = externalId();
    const first = await backend.post('/v1/workspaces', { name: 'First', external_id: ext });
    assert.equal(first.status, 201);
    const again = await backend.post('/v1/workspaces', { name: 'Again', external_id: ext });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'external_id_taken');
    assert.equal(again.body.error.param, 'external_id');
    assert.equal(again.body.error.workspace_id, first.body.id);
    assert.ok(again.body.error.message.includes(first.body.id));

    const raced = externalId('race');
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => backend.post('/v1/workspaces', { name: `Racer ${i}`, external_id: raced })));
    const winners = replies.filter((r) => r.status === 201);
    assert.equal(winners.length, 1, replies.map((r) => r.raw).join('\n'));
    for (const loser of replies.filter((r) => r.status !== 201)) {
      assert.equal(loser.status, 409, loser.raw);
      assert.equal(loser.body.error.workspace_id, winners[0]!.body.id);
    }
    const rows = await h.db.selectFrom('workspaces').select('id').where('external_id', '=', raced).execute();
    assert.equal(rows.length, 1);
    const events = await h.db.selectFrom('management_events').select('id').where('action', '=', 'workspace.create').where('target_id', '=', winners[0]!.body.id).execute();
    assert.equal(events.length, 1, 'only the winner is logged');
  });

  it('finds a workspace by external id: 0 or 1, and only within the key’s limit', async () => {
    const h = harness();
    const backend = await serviceClient(h, ['workspaces:write', 'workspaces:read']);
    const ext = externalId();
    const created = (await backend.post('/v1/workspaces', { name: 'Found', external_id: ext })).body;
    const found = await backend.get(`/v1/workspaces?external_id=${encodeURIComponent(ext)}`);
    assert.equal(found.status, 200);
    assert.equal(found.body.object, 'list');
    assert.deepEqual(found.body.data, [created]);
    const none = await backend.get(`/v1/workspaces?external_id=${externalId('nobody')}`);
    assert.deepEqual(none.body.data, []);

    const other = (await backend.post('/v1/workspaces', { name: 'Other' })).body;
    const limited = await serviceClient(h, ['workspaces:read'], [other.id]);
    assert.deepEqual((await limited.get(`/v1/workspaces?external_id=${ext}`)).body.data, [], 'outside its limit: as if it did not exist');
    const listed = await limited.get('/v1/workspaces');
    assert.deepEqual(listed.body.data.map((w: { id: string }) => w.id), [other.id]);

    const reader = await serviceClient(h, ['workspaces:read']);
    const refused = await reader.post('/v1/workspaces', { name: 'x' });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'insufficient_permission');
    assert.equal(refused.body.error.param, 'workspaces:write');
  });

  it('pages through every workspace a key reaches, newest first', async () => {
    const h = harness();
    const backend = await serviceClient(h, ['workspaces:write']);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await backend.post('/v1/workspaces', { name: `Paged ${i}` })).body.id);
    const limited = await serviceClient(h, ['workspaces:read'], ids);
    const seen: string[] = [];
    let url = '/v1/workspaces?limit=2';
    for (let page = 0; page < 5; page++) {
      const reply = await limited.get(url);
      assert.equal(reply.status, 200, reply.raw);
      seen.push(...reply.body.data.map((w: { id: string }) => w.id));
      if (!reply.body.has_more) break;
      url = `/v1/workspaces?limit=2&cursor=${reply.body.next_cursor}`;
    }
    assert.deepEqual(seen, [...ids].reverse());
  });

  it('PATCH changes name, external id and metadata, logs the changed field names, and refuses a taken external id', async () => {
    const h = harness();
    const backend = await serviceClient(h, ['workspaces:write', 'workspaces:read']);
    const [a, b] = [externalId('a'), externalId('b')];
    const ws = (await backend.post('/v1/workspaces', { name: 'Before', external_id: a, metadata: { tier: 1 } })).body;
    const taken = (await backend.post('/v1/workspaces', { name: 'Taken', external_id: b })).body;
    const url = `/v1/workspaces/${ws.id}`;

    const patched = await backend.patch(url, { name: 'After', metadata: { tier: 2, region: 'eu' } });
    assert.equal(patched.status, 200, patched.raw);
    assert.deepEqual({ name: patched.body.name, external_id: patched.body.external_id, metadata: patched.body.metadata }, { name: 'After', external_id: a, metadata: { tier: 2, region: 'eu' } });
    const same = await backend.patch(url, { name: 'After', metadata: { region: 'eu', tier: 2 } });
    assert.equal(same.status, 200);

    const conflict = await backend.patch(url, { external_id: b });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.error.code, 'external_id_taken');
    assert.equal(conflict.body.error.workspace_id, taken.id);
    assert.equal((await backend.get(url)).body.external_id, a, 'unchanged');

    const cleared = await backend.patch(url, { external_id: null });
    assert.equal(cleared.body.external_id, null);
    assert.equal((await backend.post('/v1/workspaces', { name: 'Reuses', external_id: a })).status, 201, 'a cleared external id is free again');

    const updates = (await managementEvents(h, ws.id)).filter((e) => e.action === 'workspace.update');
    assert.deepEqual(updates.map((e) => e.details.changed), [['name', 'metadata'], ['external_id']], 'the same values again change nothing and log nothing');
    assert.ok(updates.every((e) => e.actor_service_key_id === backend.serviceKeyId));
  });

  it('a person creates a workspace they own and may rename it, but may not set external_id or metadata', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const created = await owner.client.post('/v1/workspaces', { name: 'Mine' });
    assert.equal(created.status, 201);
    assert.deepEqual({ external_id: created.body.external_id, metadata: created.body.metadata }, { external_id: null, metadata: {} });
    const me = await owner.client.get('/v1/auth/me');
    assert.equal(me.body.workspaces.find((w: { id: string }) => w.id === created.body.id)?.role, 'owner');

    for (const [body, param] of [
      [{ name: 'Squatter', external_id: externalId() }, 'external_id'],
      [{ name: 'Squatter', metadata: { plan: 'enterprise' } }, 'metadata'],
    ] as const) {
      const refused = await owner.client.post('/v1/workspaces', body);
      assert.equal(refused.status, 403, refused.raw);
      assert.equal(refused.body.error.code, 'insufficient_permission');
      assert.equal(refused.body.error.param, param);
    }
    const url = `/v1/workspaces/${created.body.id}`;
    assert.equal((await owner.client.patch(url, { external_id: externalId() })).body.error.code, 'insufficient_permission');
    assert.equal((await owner.client.patch(url, { name: 'Renamed' })).body.name, 'Renamed');

    const listed = await owner.client.get('/v1/workspaces');
    assert.deepEqual(new Set(listed.body.data.map((w: { id: string }) => w.id)), new Set([owner.workspaceId, created.body.id]));

    // A Member of a workspace neither reads nor changes it, nor sees it in the list.
    const { client: member } = await inviteAndJoin(h, owner, uniqueEmail('member'), 'member');
    for (const reply of [await member.get(url), await member.patch(url, { name: 'Nope' })]) {
      assert.equal(reply.status, 404, reply.raw);
    }
    const own = await member.get(`/v1/workspaces/${owner.workspaceId}`);
    assert.equal(own.status, 403);
    assert.equal(own.body.error.code, 'insufficient_role');
    assert.deepEqual((await member.get('/v1/workspaces')).body.data, []);
  });

  it('refuses bad input with invalid_request naming the field, and a limited key’s create', async () => {
    const h = harness();
    const backend = await serviceClient(h, ['workspaces:write', 'workspaces:read']);
    const cases: Array<[unknown, string]> = [
      [{ name: 'x', external_id: 'e'.repeat(201) }, 'external_id'],
      [{ name: 'x', external_id: '' }, 'external_id'],
      [{ name: 'x', external_id: 'tab\there' }, 'external_id'],
      [{ name: 'x', external_id: 42 }, 'external_id'],
      [{ name: 'x', metadata: { blob: 'm'.repeat(4097) } }, 'metadata'],
      [{ name: 'x', metadata: ['not', 'an', 'object'] }, 'metadata'],
      [{ name: 'x', metadata: 'text' }, 'metadata'],
      [{ name: 'x', metadata: { a: 'nul\u0000inside' } }, 'metadata'],
      [{ name: 'x', metadata: { pasted: generateServiceSecret('lk') } }, 'metadata'],
      [{ name: 'x', external_id: generateSecret('lk', 'live') }, 'external_id'],
      [{ name: 'x', metadata: { deep: JSON.parse('{"a":'.repeat(3000) + '1' + '}'.repeat(3000)) } }, 'metadata'],
      [{ name: '', external_id: externalId() }, 'name'],
      [{ name: 'x', owner: 'me' }, 'owner'],
    ];
    for (const [body, param] of cases) {
      const reply = await backend.post('/v1/workspaces', body);
      assert.equal(reply.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${reply.raw}`);
      assert.equal(reply.body.error.code, 'invalid_request');
      assert.equal(reply.body.error.param, param, reply.raw);
    }
    assert.equal((await backend.post('/v1/workspaces', { name: 'x', metadata: { blob: 'm'.repeat(4000) } })).status, 201, 'just under 4 KB is fine');
    const patchUrl = `/v1/workspaces/${(await backend.post('/v1/workspaces', { name: 'p' })).body.id}`;
    assert.equal((await backend.patch(patchUrl, { metadata: { blob: 'm'.repeat(5000) } })).body.error.param, 'metadata');
    assert.equal((await backend.get(`/v1/workspaces?external_id=${'e'.repeat(201)}`)).body.error?.param, 'external_id');

    const only = (await backend.post('/v1/workspaces', { name: 'Only' })).body;
    const limited = await serviceClient(h, ['workspaces:write'], [only.id]);
    const refused = await limited.post('/v1/workspaces', { name: 'Out of reach' });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'insufficient_permission');
  });

  it('verify answers the new external id at once after a PATCH changes it, for a key already in the cache', async () => {
    const h = harness();
    const backend = await serviceClient(h);
    const first = externalId();
    const ws = (await backend.post('/v1/workspaces', { name: 'Acme Corp', external_id: first })).body;
    const key = await backend.post(`/v1/workspaces/${ws.id}/api-keys`, { name: 'crm-sync', scopes: ['contacts:read'] });
    assert.equal(key.status, 201, key.raw);
    const verify = () => backend.post('/v1/keys/verify', { key: key.body.secret, client_ip: '203.0.113.7' });
    assert.deepEqual((await verify()).body.workspace, { id: ws.id, external_id: first });
    assert.deepEqual((await verify()).body.workspace, { id: ws.id, external_id: first }, 'now answered from the cache');
    const second = externalId();
    assert.equal((await backend.patch(`/v1/workspaces/${ws.id}`, { external_id: second })).status, 200);
    assert.deepEqual((await verify()).body.workspace, { id: ws.id, external_id: second });
  });
});
