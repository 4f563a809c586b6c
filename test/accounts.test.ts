import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Client, PASSWORD, addUser, describeEachBackend, newTenant, signIn, uniqueEmail } from './harness.js';

describeEachBackend('accounts', (harness) => {
  it('sets up the first owner and workspace once, then answers 409', async () => {
    const h = harness();
    const client = new Client(h.app);
    assert.equal((await client.get('/v1/setup')).body.needs_setup, true);
    const email = uniqueEmail('first');
    const setup = await client.post('/v1/setup', { email, password: PASSWORD, workspace_name: 'First' });
    assert.equal(setup.status, 201);
    assert.equal(setup.body.user.email, email);
    assert.match(setup.body.workspace.id, /^ws_/);
    assert.equal(typeof setup.body.csrf_token, 'string');
    const cookie = setup.headers['set-cookie'];
    assert.match(String(cookie), /HttpOnly/i);
    assert.match(String(cookie), /SameSite=Lax/i);

    const me = await client.get('/v1/auth/me');
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.workspaces.map((w: { role: string }) => w.role), ['owner']);

    const again = await new Client(h.app).post('/v1/setup', { email: uniqueEmail(), password: PASSWORD, workspace_name: 'Second' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'already_set_up');
    assert.equal((await client.get('/v1/setup')).body.needs_setup, false);
  });

  it('signs in with the right password only, and says nothing about which part was wrong', async () => {
    const h = harness();
    const email = uniqueEmail();
    await addUser(h, email);
    const wrong = await new Client(h.app).post('/v1/auth/login', { email, password: 'not the password' });
    const unknown = await new Client(h.app).post('/v1/auth/login', { email: uniqueEmail(), password: PASSWORD });
    for (const reply of [wrong, unknown]) {
      assert.equal(reply.status, 401);
      assert.equal(reply.body.error.code, 'invalid_credentials');
    }
    assert.equal(wrong.body.error.message, unknown.body.error.message);
    const ok = await new Client(h.app).post('/v1/auth/login', { email: email.toUpperCase(), password: PASSWORD });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.user.email, email);
  });

  it('refuses management calls without a session, and changes without the CSRF token', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const anonymous = await new Client(h.app).get(tenant.keys);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.code, 'not_authenticated');

    const noCsrf = await tenant.client.request('POST', tenant.keys, { name: 'x', scopes: ['tickets:read'] }, { 'x-csrf-token': '' });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.error.code, 'csrf_token_invalid');
    const wrongCsrf = await tenant.client.request('POST', tenant.keys, { name: 'x', scopes: ['tickets:read'] }, { 'x-csrf-token': 'x'.repeat(43) });
    assert.equal(wrongCsrf.body.error.code, 'csrf_token_invalid');
    assert.equal((await tenant.client.get(tenant.keys)).status, 200);
  });

  it('ends the session on logout', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const cookie = tenant.client.cookie;
    assert.equal((await tenant.client.post('/v1/auth/logout')).status, 204);
    const replay = new Client(h.app);
    replay.cookie = cookie;
    assert.equal((await replay.get('/v1/auth/me')).status, 401);
  });

  it('expires a session after its lifetime', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    h.clock.advance(h.config.sessionTtlHours * 3600 + 1);
    try {
      assert.equal((await tenant.client.get('/v1/auth/me')).status, 401);
    } finally {
      h.clock.advance(-(h.config.sessionTtlHours * 3600 + 1));
    }
  });

  it('lets a signed-in user create another workspace they own', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const created = await tenant.client.post('/v1/workspaces', { name: 'Second shop' });
    assert.equal(created.status, 201);
    const me = await tenant.client.get('/v1/auth/me');
    const second = me.body.workspaces.find((w: { id: string }) => w.id === created.body.id);
    assert.deepEqual({ name: second.name, role: second.role }, { name: 'Second shop', role: 'owner' });
  });

  it('adds members; a Member is refused with 403 and a clear message everywhere', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const memberEmail = uniqueEmail('member');
    const added = await owner.client.post(`/v1/workspaces/${owner.workspaceId}/members`, { email: memberEmail, password: PASSWORD, role: 'member' });
    assert.equal(added.status, 201);
    const member = await signIn(h, memberEmail);
    const key = await owner.client.post(owner.keys, { name: 'k', scopes: ['tickets:read'] });
    const keyUrl = `${owner.keys}/${key.body.id}`;
    const attempts = [
      member.get(owner.keys),
      member.post(owner.keys, { name: 'k', scopes: ['tickets:read'] }),
      member.get(keyUrl),
      member.patch(keyUrl, { name: 'renamed' }),
      member.delete(keyUrl),
      member.post(`${keyUrl}/rotate`),
      member.get(`/v1/workspaces/${owner.workspaceId}/members`),
      member.post(`/v1/workspaces/${owner.workspaceId}/members`, { email: uniqueEmail(), password: PASSWORD, role: 'admin' }),
    ];
    for (const reply of await Promise.all(attempts)) {
      assert.equal(reply.status, 403);
      assert.equal(reply.body.error.code, 'insufficient_role');
      assert.match(reply.body.error.message, /Owner or Admin/);
    }
    assert.equal((await owner.client.get(keyUrl)).body.name, 'k');
  });

  it('lets only an Owner make or unmake Owners, and keeps at least one Owner', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const members = `/v1/workspaces/${owner.workspaceId}/members`;
    const adminEmail = uniqueEmail('admin');
    const admin = await owner.client.post(members, { email: adminEmail, password: PASSWORD, role: 'admin' });
    const adminClient = await signIn(h, adminEmail);

    const promote = await adminClient.post(members, { email: uniqueEmail(), password: PASSWORD, role: 'owner' });
    assert.equal(promote.status, 403);
    const demoteOwner = await adminClient.patch(`${members}/${owner.userId}`, { role: 'member' });
    assert.equal(demoteOwner.status, 403);
    const addMember = await adminClient.post(members, { email: uniqueEmail(), password: PASSWORD, role: 'member' });
    assert.equal(addMember.status, 201);

    const lastOwner = await owner.client.patch(`${members}/${owner.userId}`, { role: 'admin' });
    assert.equal(lastOwner.status, 409);
    const makeOwner = await owner.client.patch(`${members}/${admin.body.user_id}`, { role: 'owner' });
    assert.deepEqual(makeOwner.body, { user_id: admin.body.user_id, email: adminEmail, role: 'owner' });
    assert.equal((await owner.client.patch(`${members}/${owner.userId}`, { role: 'admin' })).status, 200);

    const list = await adminClient.get(members);
    assert.equal(list.body.data.length, 3);
  });

  it('adds an existing user by email without a password, and needs one for a new user', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const members = `/v1/workspaces/${owner.workspaceId}/members`;
    const existing = uniqueEmail();
    await addUser(h, existing);
    assert.equal((await owner.client.post(members, { email: existing, role: 'admin' })).status, 201);
    const duplicate = await owner.client.post(members, { email: existing, role: 'admin' });
    assert.equal(duplicate.status, 409);
    const missing = await owner.client.post(members, { email: uniqueEmail(), role: 'admin' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.param, 'password');
  });

  it('answers 404 for another workspace, whatever the route', async () => {
    const h = harness();
    const mine = await newTenant(h);
    const theirs = await newTenant(h);
    const theirKey = await theirs.client.post(theirs.keys, { name: 'theirs', scopes: ['tickets:read'] });
    const attempts = [
      mine.client.get(theirs.keys),
      mine.client.post(theirs.keys, { name: 'x', scopes: ['tickets:read'] }),
      mine.client.get(`${theirs.keys}/${theirKey.body.id}`),
      mine.client.delete(`${theirs.keys}/${theirKey.body.id}`),
      mine.client.get(`/v1/workspaces/${theirs.workspaceId}/members`),
      // Their key id under my workspace is just as unknown.
      mine.client.get(`${mine.keys}/${theirKey.body.id}`),
      mine.client.post(`${mine.keys}/${theirKey.body.id}/rotate`),
      mine.client.get('/v1/workspaces/ws_doesnotexist/api-keys'),
    ];
    for (const reply of await Promise.all(attempts)) {
      assert.equal(reply.status, 404, reply.raw);
      assert.equal(reply.body.error.code, 'not_found');
    }
    assert.equal((await theirs.client.get(`${theirs.keys}/${theirKey.body.id}`)).body.status, 'active');
  });

  it('records logins, failed logins and role changes with actor, time and source IP', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const email = uniqueEmail('admin');
    const added = await owner.client.post(`/v1/workspaces/${owner.workspaceId}/members`, { email, password: PASSWORD, role: 'admin' });
    await owner.client.patch(`/v1/workspaces/${owner.workspaceId}/members/${added.body.user_id}`, { role: 'member' });
    await new Client(h.app, '198.51.100.9').post('/v1/auth/login', { email, password: 'wrong password!' });
    await new Client(h.app, '198.51.100.9').post('/v1/auth/login', { email, password: PASSWORD });

    const events = await h.db.selectFrom('management_events').selectAll().where('target_id', '=', added.body.user_id).orderBy('id').execute();
    const byAction = new Map(events.map((e) => [e.action, e]));
    assert.deepEqual([...byAction.keys()].sort(), ['login', 'member.add', 'member.role_change']);
    assert.equal(byAction.get('member.role_change')?.actor_email, owner.email);
    assert.deepEqual(byAction.get('member.role_change')?.details, { from: 'admin', to: 'member' });
    assert.equal(byAction.get('login')?.source_ip, '198.51.100.9');
    assert.ok(byAction.get('login')?.created_at instanceof Date);
    const failed = await h.db.selectFrom('management_events').selectAll().where('action', '=', 'login_failed').where('actor_user_id', '=', added.body.user_id).execute();
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.source_ip, '198.51.100.9');
    assert.ok(!JSON.stringify(events).includes('wrong password'));
  });
});
