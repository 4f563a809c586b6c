import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { it } from 'node:test';
import { buildApp } from '../src/app.js';
import { newId } from '../src/ids.js';
import { connectRedis } from '../src/redis.js';
import { PERMISSIONS } from '../src/service-keys/permissions.js';
import { Client, PASSWORD, addUser, describeEachBackend, newTenant, serviceClient, uniqueEmail, type Harness, type Reply } from './harness.js';
import { bodyFor, MANAGEMENT_ROUTES, urlOf } from './management-routes.js';
import { inviteAndJoin } from './invite.js';
import { productionServicesSkipReason, TEST_REDIS_URL } from './services.js';

const redisSkip = (await productionServicesSkipReason()) ?? false;

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

  it('lets members join; a Member is refused with 403 and a clear message everywhere', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const { client: member, userId: memberId } = await inviteAndJoin(h, owner, uniqueEmail('member'), 'member');
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
      member.post(`/v1/workspaces/${owner.workspaceId}/members`, { email: uniqueEmail(), role: 'admin' }),
      member.delete(`/v1/workspaces/${owner.workspaceId}/members/${memberId}`),
      member.get(`/v1/workspaces/${owner.workspaceId}/invitations`),
      member.delete(`/v1/workspaces/${owner.workspaceId}/invitations/${newId('inv')}`),
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
    const { client: adminClient, userId: adminId } = await inviteAndJoin(h, owner, adminEmail, 'admin');
    const admin = { body: { user_id: adminId } };

    const promote = await adminClient.post(members, { email: uniqueEmail(), role: 'owner' });
    assert.equal(promote.status, 403);
    const demoteOwner = await adminClient.patch(`${members}/${owner.userId}`, { role: 'member' });
    assert.equal(demoteOwner.status, 403);
    const addMember = await inviteAndJoin(h, { ...owner, client: adminClient }, uniqueEmail(), 'member');
    assert.match(addMember.userId, /^usr_/);

    const lastOwner = await owner.client.patch(`${members}/${owner.userId}`, { role: 'admin' });
    assert.equal(lastOwner.status, 409);
    const makeOwner = await owner.client.patch(`${members}/${admin.body.user_id}`, { role: 'owner' });
    assert.deepEqual(makeOwner.body, { user_id: admin.body.user_id, email: adminEmail, role: 'owner' });
    assert.equal((await owner.client.patch(`${members}/${owner.userId}`, { role: 'admin' })).status, 200);

    const list = await adminClient.get(members);
    assert.equal(list.body.data.length, 3);
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
      mine.client.post(`/v1/workspaces/${theirs.workspaceId}/members`, { email: uniqueEmail(), role: 'member' }),
      mine.client.delete(`/v1/workspaces/${theirs.workspaceId}/members/${theirs.userId}`),
      mine.client.get(`/v1/workspaces/${theirs.workspaceId}/invitations`),
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

  it('a service key limited to one workspace gets 404 for every route of another, and cannot create workspaces', async () => {
    const h = harness();
    const mine = await newTenant(h);
    const theirs = await newTenant(h);
    const theirKey = (await theirs.client.post(theirs.keys, { name: 'theirs', scopes: ['tickets:read'] })).body;
    const external = `theirs-${randomInt(1e9)}`;
    const everything = await serviceClient(h, PERMISSIONS);
    await everything.patch(`/v1/workspaces/${theirs.workspaceId}`, { external_id: external });
    const limited = await serviceClient(h, PERMISSIONS, [mine.workspaceId]);
    const theirIds = { workspace_id: theirs.workspaceId, key_id: theirKey.id, secret_id: theirKey.secrets[0].id, user_id: theirs.userId, event_id: newId('evt') };
    const workspaceRoutes = MANAGEMENT_ROUTES.filter(([, path, need]) => path.includes('{workspace_id}') && need !== 'session');
    assert.ok(workspaceRoutes.length >= 15);
    for (const [method, path] of workspaceRoutes) {
      const reply = await limited.request(method as 'GET', urlOf(path, theirIds), bodyFor(method, path, theirIds));
      assert.equal(reply.status, 404, `${method} ${path}: ${reply.raw}`);
      assert.equal(reply.body.error.code, 'not_found');
      // Their ids under my workspace are just as unknown.
      if (path.includes('{key_id}')) {
        const mixed = await limited.request(method as 'GET', urlOf(path, { ...theirIds, workspace_id: mine.workspaceId }), bodyFor(method, path, theirIds));
        assert.equal(mixed.status, 404, `${method} ${path} under my workspace: ${mixed.raw}`);
      }
    }
    assert.deepEqual((await limited.get(`/v1/workspaces?external_id=${external}`)).body.data, []);
    assert.deepEqual((await limited.get('/v1/workspaces')).body.data.map((w: { id: string }) => w.id), [mine.workspaceId]);
    const create = await limited.post('/v1/workspaces', { name: 'Escape' });
    assert.equal(create.status, 403);
    assert.equal(create.body.error.code, 'insufficient_permission');

    const after = await theirs.client.get(`${theirs.keys}/${theirKey.id}`);
    assert.deepEqual([after.body.name, after.body.status, after.body.secrets.length], ['theirs', 'active', 1], 'nothing of theirs changed');
    assert.equal((await theirs.client.get(`/v1/workspaces/${theirs.workspaceId}`)).body.name, 'Acme');
    assert.equal((await theirs.client.get(`/v1/workspaces/${theirs.workspaceId}/members`)).body.data.length, 1);
  });

  it('records logins, failed logins and role changes with actor, time and source IP', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const email = uniqueEmail('admin');
    const joined = await inviteAndJoin(h, owner, email, 'admin');
    const added = { body: { user_id: joined.userId } };
    await owner.client.patch(`/v1/workspaces/${owner.workspaceId}/members/${added.body.user_id}`, { role: 'member' });
    await new Client(h.app, '198.51.100.9').post('/v1/auth/login', { email, password: 'wrong password!' });
    await new Client(h.app, '198.51.100.9').post('/v1/auth/login', { email, password: PASSWORD });

    const events = await h.db.selectFrom('management_events').selectAll().where('target_id', '=', added.body.user_id).orderBy('id').execute();
    const byAction = new Map(events.map((e) => [e.action, e]));
    assert.deepEqual([...byAction.keys()].sort(), ['login', 'member.joined', 'member.role_change']);
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

/** An address of its own for each test (and each run, as Redis keeps counts between runs), so that budgets never meet. */
function freshIp(): string {
  return `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
}

/** Moves the clock just past the start of the next 15-minute window, where failure budgets start; returns the way back. */
function atStartOfWindow(h: Harness, seconds = 900): () => void {
  const forward = (seconds * 1000 - (h.clock.now.getTime() % (seconds * 1000)) + 200) / 1000;
  h.clock.advance(forward);
  return () => h.clock.advance(-forward);
}

/**
 * One sign-in attempt, a second of the clock after the previous one: the per-second burst limit is not
 * what these tests are about (src/accounts/login-throttle.test.ts covers it).
 */
async function attempt(h: Harness, ip: string, email: string, password: string): Promise<Reply> {
  h.clock.advance(1);
  return new Client(h.app, ip).post('/v1/auth/login', { email, password });
}

describeEachBackend('sign-in throttle', (harness) => {
  it('after 10 failures for one email from one address, refuses it with 429 and Retry-After, the right password too', async () => {
    const h = harness();
    const ip = freshIp();
    const email = uniqueEmail();
    await addUser(h, email);
    const back = atStartOfWindow(h);
    try {
      for (let i = 0; i < 10; i++) {
        const reply = await attempt(h, ip, email, `wrong password ${i}`);
        assert.equal(reply.body.error.code, 'invalid_credentials', `failure ${i + 1}`);
      }
      const refused = await attempt(h, ip, email, PASSWORD);
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error.code, 'rate_limited');
      assert.equal(refused.body.error.type, 'rate_limit_error');
      const retryAfter = Number(refused.headers['retry-after']);
      assert.ok(retryAfter > 800 && retryAfter <= 900, `Retry-After ${retryAfter}`);
      assert.equal(refused.headers['set-cookie'], undefined);

      // The same email from another address, and another email from this one, still sign in.
      assert.equal((await attempt(h, freshIp(), email, PASSWORD)).status, 200);
      const other = uniqueEmail();
      await addUser(h, other);
      assert.equal((await attempt(h, ip, other, PASSWORD)).status, 200);

      // Waiting Retry-After is enough.
      h.clock.advance(retryAfter);
      assert.equal((await attempt(h, ip, email, PASSWORD)).status, 200);
    } finally {
      back();
    }
  });

  it('answers alike for an email with an account and one without', async () => {
    const h = harness();
    const ip = freshIp();
    const known = uniqueEmail('known');
    await addUser(h, known);
    const unknown = uniqueEmail('unknown');
    const back = atStartOfWindow(h);
    try {
      for (let i = 0; i < 10; i++) {
        await attempt(h, ip, known, 'wrong password');
        await attempt(h, ip, unknown, 'wrong password');
      }
      h.clock.advance(1);
      const [a, b] = await Promise.all([known, unknown].map((email) => new Client(h.app, ip).post('/v1/auth/login', { email, password: PASSWORD })));
      assert.equal(a?.status, 429);
      assert.equal(b?.status, 429);
      assert.equal(a?.body.error.message, b?.body.error.message);
      assert.equal(a?.headers['retry-after'], b?.headers['retry-after']);
    } finally {
      back();
    }
  });

  it('lets a successful sign-in reset nothing: failures before and after it add up', async () => {
    const h = harness();
    const ip = freshIp();
    const email = uniqueEmail();
    await addUser(h, email);
    const back = atStartOfWindow(h);
    try {
      for (let i = 0; i < 9; i++) await attempt(h, ip, email, 'wrong password');
      assert.equal((await attempt(h, ip, email, PASSWORD)).status, 200);
      assert.equal((await attempt(h, ip, email, 'wrong password')).status, 401);
      assert.equal((await attempt(h, ip, email, PASSWORD)).status, 429);
    } finally {
      back();
    }
  });

  it('still records every checked failure in the management log; refusals before any check write nothing', async () => {
    const h = harness();
    const ip = freshIp();
    const email = uniqueEmail();
    const userId = await addUser(h, email);
    const back = atStartOfWindow(h);
    try {
      for (let i = 0; i < 10; i++) await attempt(h, ip, email, 'wrong password');
      for (let i = 0; i < 5; i++) assert.equal((await attempt(h, ip, email, PASSWORD)).status, 429);
    } finally {
      back();
    }
    const failed = await h.db.selectFrom('management_events').selectAll().where('action', '=', 'login_failed').where('actor_user_id', '=', userId).execute();
    assert.equal(failed.length, 10);
    assert.ok(failed.every((e) => e.source_ip === ip && (e.details as { email?: string }).email === email));
    const logins = await h.db.selectFrom('management_events').select('id').where('action', '=', 'login').where('actor_user_id', '=', userId).execute();
    assert.equal(logins.length, 0);
  });

  it('counts failures across instances sharing Redis: the other instance refuses at its first failure past the budget', { skip: redisSkip }, async () => {
    const h = harness();
    const connections = await Promise.all([connectRedis(TEST_REDIS_URL), connectRedis(TEST_REDIS_URL)]);
    const apps = await Promise.all(
      connections.map((redis) => buildApp({ config: { ...h.config, logLevel: 'warn' }, db: h.db, now: () => h.clock.now, redis })),
    );
    const ip = freshIp();
    const email = uniqueEmail();
    const userId = await addUser(h, email);
    const back = atStartOfWindow(h);
    try {
      const [first, second] = apps as [(typeof apps)[0], (typeof apps)[0]];
      const login = (app: typeof first, password: string) => {
        h.clock.advance(1);
        return new Client(app, ip).post('/v1/auth/login', { email, password });
      };
      for (let i = 0; i < 5; i++) assert.equal((await login(first, 'wrong password')).status, 401);
      for (let i = 0; i < 5; i++) assert.equal((await login(second, 'wrong password')).status, 401);
      // The second instance filled the budget, so it refuses at once; the first learns at its next failure.
      assert.equal((await login(second, PASSWORD)).status, 429);
      const found = await login(first, 'wrong password');
      assert.equal(found.status, 429);
      assert.equal(found.body.error.code, 'rate_limited');
      assert.equal((await login(first, PASSWORD)).status, 429);

      const failed = await h.db.selectFrom('management_events').select('details').where('action', '=', 'login_failed').where('actor_user_id', '=', userId).execute();
      assert.equal(failed.length, 11);
      assert.equal(failed.filter((e) => (e.details as { throttled?: boolean }).throttled === true).length, 1);
    } finally {
      back();
      await Promise.all(apps.map((app) => app.close()));
      await Promise.all(connections.map((c) => c.close()));
    }
  });
});
