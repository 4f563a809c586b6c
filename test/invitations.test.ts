import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { it } from 'node:test';
import { Client, PASSWORD, addUser, describeEachBackend, newTenant, signIn, uniqueEmail, type Harness, type Tenant } from './harness.js';
import { inviteAndJoin } from './invite.js';

const DAY = 24 * 3600;

describeEachBackend('invitations', (harness) => {
  const membersOf = (t: Tenant) => `/v1/workspaces/${t.workspaceId}/members`;
  const invitationsOf = (t: Tenant) => `/v1/workspaces/${t.workspaceId}/invitations`;
  const accept = (client: Client, token: string, body: unknown = {}) => client.post(`/v1/invitations/${token}/accept`, body);

  async function events(h: Harness, workspaceId: string) {
    return h.db.selectFrom('management_events').selectAll().where('workspace_id', '=', workspaceId).orderBy('id').execute();
  }

  it('keeps each workspace’s invitations and members to itself: another workspace’s ids answer 404 and change nothing', async () => {
    const h = harness();
    const a = await newTenant(h);
    const b = await newTenant(h);
    const invite = await a.client.post(membersOf(a), { email: uniqueEmail('pending'), role: 'member' });
    assert.equal(invite.status, 201, invite.raw);
    const attempts = [
      b.client.delete(`${invitationsOf(b)}/${invite.body.id}`),
      b.client.delete(`${invitationsOf(a)}/${invite.body.id}`),
      b.client.get(invitationsOf(a)),
      b.client.delete(`${membersOf(b)}/${a.userId}`),
      b.client.delete(`${membersOf(a)}/${a.userId}`),
    ];
    for (const reply of await Promise.all(attempts)) assert.deepEqual([reply.status, reply.body.error.code], [404, 'not_found'], reply.raw);
    assert.deepEqual((await a.client.get(invitationsOf(a))).body.data.map((i: { id: string }) => i.id), [invite.body.id]);
    assert.equal((await a.client.get(membersOf(a))).body.data.length, 1);
  });

  it('invites a new person, who opens the link, chooses a password and is signed in as a member', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const email = uniqueEmail('new');
    const invite = await owner.client.post(membersOf(owner), { email: email.toUpperCase(), role: 'admin' });
    assert.equal(invite.status, 201, invite.raw);
    assert.match(invite.body.id, /^inv_/);
    assert.equal(invite.body.email, email);
    assert.match(invite.body.token, /^[A-Za-z0-9_-]{43}$/);
    // A fragment: opening the link sends the token to no server.
    assert.match(invite.body.invite_url, new RegExp(`^http://localhost(:80)?/#/invite/${invite.body.token}$`));
    assert.equal(new Date(invite.body.expires_at).getTime() - new Date(invite.body.created_at).getTime(), 7 * DAY * 1000);
    // The link is not membership: nobody is added until it is accepted.
    assert.equal((await owner.client.get(membersOf(owner))).body.data.length, 1);
    assert.deepEqual((await owner.client.get(invitationsOf(owner))).body.data.map((i: { email: string }) => i.email), [email]);

    const person = new Client(h.app);
    const seen = await person.get(`/v1/invitations/${invite.body.token}`);
    assert.equal(seen.status, 200, seen.raw);
    assert.deepEqual(
      { workspace: seen.body.workspace, email: seen.body.email, role: seen.body.role, needs_password: seen.body.needs_password, by: seen.body.invited_by },
      { workspace: { id: owner.workspaceId, name: 'Acme' }, email, role: 'admin', needs_password: true, by: owner.email },
    );
    const joined = await accept(person, invite.body.token, { password: PASSWORD });
    assert.equal(joined.status, 200, joined.raw);
    assert.equal(joined.body.user.email, email);
    const me = await person.get('/v1/auth/me');
    assert.deepEqual(me.body.workspaces.map((w: { id: string; role: string }) => [w.id, w.role]), [[owner.workspaceId, 'admin']]);
    assert.equal((await person.get(owner.keys)).status, 200);
    const members = (await owner.client.get(membersOf(owner))).body.data;
    assert.deepEqual(members.map((m: { email: string; role: string }) => [m.email, m.role]), [[owner.email, 'owner'], [email, 'admin']]);
    assert.equal((await owner.client.get(invitationsOf(owner))).body.data.length, 0);
    await signIn(h, email); // the chosen password is theirs

    // Stored as a hash only, and never in a log line or the management log.
    const row = await h.db.selectFrom('invitations').selectAll().where('id', '=', invite.body.id).executeTakeFirstOrThrow();
    assert.equal(row.token_hash, createHash('sha256').update(invite.body.token).digest('hex'));
    assert.ok(!JSON.stringify(row).includes(invite.body.token));
    const log = await events(h, owner.workspaceId);
    assert.ok(!JSON.stringify(log).includes(invite.body.token));
    assert.ok(!h.logs.some((line) => line.includes(invite.body.token)), 'the token reached a log line');
    const byAction = new Map(log.map((e) => [e.action, e]));
    assert.deepEqual(byAction.get('member.invited')?.details, { email, role: 'admin' });
    assert.equal(byAction.get('member.invited')?.actor_email, owner.email);
    assert.equal(byAction.get('member.joined')?.actor_email, email);
    assert.equal(byAction.get('member.joined')?.target_id, joined.body.user.id);
  });

  it('answers an invitation of an existing account exactly as one of a new email, and never attaches the account', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const existing = uniqueEmail('existing');
    await addUser(h, existing);
    const fresh = uniqueEmail('fresh');
    const [a, b] = [await owner.client.post(membersOf(owner), { email: existing, role: 'member' }), await owner.client.post(membersOf(owner), { email: fresh, role: 'member' })];
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    const shape = (body: Record<string, unknown>) => Object.keys(body).sort().join(',');
    assert.equal(shape(a.body), shape(b.body));
    const pending = (await owner.client.get(invitationsOf(owner))).body.data;
    assert.equal(shape(pending[0]), shape(pending[1]));
    const log = await events(h, owner.workspaceId);
    const invited = log.filter((e) => e.action === 'member.invited').map((e) => Object.keys(e.details).sort().join(','));
    assert.deepEqual(invited, ['email,role', 'email,role']);
    assert.equal((await owner.client.get(membersOf(owner))).body.data.length, 1);

    // The link holder learns it needs a sign-in; a password (right or wrong) is neither checked nor set.
    const stranger = new Client(h.app);
    assert.equal((await stranger.get(`/v1/invitations/${a.body.token}`)).body.needs_password, false);
    for (const password of [PASSWORD, 'another password!']) {
      const refused = await accept(stranger, a.body.token, { password });
      assert.deepEqual([refused.status, refused.body.error.code], [401, 'not_authenticated'], refused.raw);
      assert.equal(refused.headers['set-cookie'], undefined);
    }
    assert.equal((await new Client(h.app).post('/v1/auth/login', { email: existing, password: 'another password!' })).status, 401);

    // Signed in as someone else: refused. As the invited account: joins.
    const other = await inviteAndJoin(h, owner, uniqueEmail('other'), 'member');
    const wrong = await accept(other.client, a.body.token);
    assert.deepEqual([wrong.status, wrong.body.error.code], [403, 'wrong_account']);
    const invitee = await signIn(h, existing);
    assert.equal((await invitee.get(`/v1/invitations/${a.body.token}`)).body.signed_in_as, existing);
    const noCsrf = await invitee.request('POST', `/v1/invitations/${a.body.token}/accept`, {}, { 'x-csrf-token': '' });
    assert.deepEqual([noCsrf.status, noCsrf.body.error.code], [403, 'csrf_token_invalid']);
    const joined = await accept(invitee, a.body.token);
    assert.equal(joined.status, 200, joined.raw);
    assert.equal(joined.body.csrf_token, undefined);
    assert.ok((await owner.client.get(membersOf(owner))).body.data.some((m: { email: string }) => m.email === existing));
  });

  it('serves a link once, even to two acceptances at the same moment', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const invite = await owner.client.post(membersOf(owner), { email: uniqueEmail(), role: 'member' });
    const replies = await Promise.all([accept(new Client(h.app), invite.body.token, { password: PASSWORD }), accept(new Client(h.app), invite.body.token, { password: PASSWORD })]);
    assert.deepEqual(replies.map((r) => r.status).sort(), [200, 404], replies.map((r) => r.raw).join(' | '));
    const again = await accept(new Client(h.app), invite.body.token, { password: PASSWORD });
    assert.deepEqual([again.status, again.body.error.code], [404, 'not_found']);
    assert.equal((await new Client(h.app).get(`/v1/invitations/${invite.body.token}`)).status, 404);
    assert.equal((await owner.client.get(membersOf(owner))).body.data.length, 2);
  });

  it('refuses bad input on the link routes with 400 and the field, and any malformed token with the same 404', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const invite = await owner.client.post(membersOf(owner), { email: uniqueEmail(), role: 'member' });
    const person = new Client(h.app);
    for (const [body, param] of [
      [{ password: 'short' }, 'password'],
      [{}, 'password'],
      [{ password: PASSWORD, email: 'x@example.com' }, 'email'],
    ] as const) {
      const reply = await accept(person, invite.body.token, body);
      assert.deepEqual([reply.status, reply.body.error.code, reply.body.error.param], [400, 'invalid_request', param], reply.raw);
    }
    const unknown = await new Client(h.app).get(`/v1/invitations/${invite.body.token}`);
    for (const token of ['x', 'A'.repeat(43), `${invite.body.token}x`, '%00', 'a'.repeat(100)]) {
      const reply = await person.get(`/v1/invitations/${token}`);
      assert.deepEqual([reply.status, reply.body.error.code], [404, 'not_found'], token);
      assert.equal(reply.body.error.message, (await accept(person, token, { password: PASSWORD })).body.error.message);
    }
    assert.equal(unknown.status, 200, 'the link still works after all that');
  });

  it('expires a link after 7 days', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const early = await owner.client.post(membersOf(owner), { email: uniqueEmail(), role: 'member' });
    const late = await owner.client.post(membersOf(owner), { email: uniqueEmail(), role: 'member' });
    let moved = 0;
    const advance = (seconds: number) => {
      h.clock.advance(seconds);
      moved += seconds;
    };
    try {
      advance(7 * DAY - 60);
      assert.equal((await accept(new Client(h.app), early.body.token, { password: PASSWORD })).status, 200);
      advance(61);
      assert.equal((await new Client(h.app).get(`/v1/invitations/${late.body.token}`)).status, 404);
      const expired = await accept(new Client(h.app), late.body.token, { password: PASSWORD });
      assert.deepEqual([expired.status, expired.body.error.code], [404, 'not_found']);
      // (The Owner's session of a week ago has expired too.)
      const again = await signIn(h, owner.email);
      assert.equal((await again.get(invitationsOf(owner))).body.data.length, 0);
      // An expired invitation does not block a new one for the same email.
      assert.equal((await again.post(membersOf(owner), { email: late.body.email, role: 'member' })).status, 201);
    } finally {
      h.clock.advance(-moved);
    }
  });

  it('lists pending invitations and revokes them; a revoked link does not work', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const email = uniqueEmail();
    const invite = await owner.client.post(membersOf(owner), { email, role: 'member' });
    const duplicate = await owner.client.post(membersOf(owner), { email, role: 'admin' });
    assert.deepEqual([duplicate.status, duplicate.body.error.code], [409, 'conflict']);
    const listed = (await owner.client.get(invitationsOf(owner))).body.data;
    assert.deepEqual(listed.map((i: { id: string; invited_by: string }) => [i.id, i.invited_by]), [[invite.body.id, owner.email]]);
    assert.equal(listed[0].token, undefined);

    const revoked = await owner.client.delete(`${invitationsOf(owner)}/${invite.body.id}`);
    assert.equal(revoked.status, 200, revoked.raw);
    assert.equal((await owner.client.delete(`${invitationsOf(owner)}/${invite.body.id}`)).status, 409);
    assert.equal((await accept(new Client(h.app), invite.body.token, { password: PASSWORD })).status, 404);
    assert.equal((await owner.client.get(invitationsOf(owner))).body.data.length, 0);
    const log = await events(h, owner.workspaceId);
    assert.deepEqual(log.find((e) => e.action === 'member.invite_revoked')?.details, { email, role: 'member' });

    const theirs = await newTenant(h);
    assert.equal((await theirs.client.delete(`${invitationsOf(owner)}/${invite.body.id}`)).status, 404);
    assert.equal((await owner.client.post(membersOf(owner), { email: owner.email, role: 'admin' })).status, 409);
  });

  it('removes a member; only an Owner removes an Owner, and the last Owner stays', async () => {
    const h = harness();
    const owner = await newTenant(h);
    const admin = await inviteAndJoin(h, owner, uniqueEmail('admin'), 'admin');
    const member = await inviteAndJoin(h, owner, uniqueEmail('member'), 'member');

    const ownerByAdmin = await admin.client.delete(`${membersOf(owner)}/${owner.userId}`);
    assert.deepEqual([ownerByAdmin.status, ownerByAdmin.body.error.code], [403, 'insufficient_role']);
    const lastOwner = await owner.client.delete(`${membersOf(owner)}/${owner.userId}`);
    assert.deepEqual([lastOwner.status, lastOwner.body.error.code], [409, 'conflict']);
    assert.equal((await member.client.delete(`${membersOf(owner)}/${admin.userId}`)).status, 403);
    assert.equal((await owner.client.delete(`${membersOf(owner)}/usr_nobody`)).status, 404);

    assert.equal((await admin.client.delete(`${membersOf(owner)}/${member.userId}`)).status, 204);
    assert.equal((await member.client.get('/v1/auth/me')).body.workspaces.length, 0);
    assert.equal((await member.client.get(owner.keys)).status, 404);
    const list = (await owner.client.get(membersOf(owner))).body.data;
    assert.deepEqual(list.map((m: { user_id: string }) => m.user_id).sort(), [owner.userId, admin.userId].sort());
    const removed = (await events(h, owner.workspaceId)).find((e) => e.action === 'member.removed');
    assert.equal(removed?.target_id, member.userId);
    assert.equal(removed?.actor_email, (await admin.client.get('/v1/auth/me')).body.user.email);

    // With a second Owner, an Owner may leave.
    assert.equal((await owner.client.patch(`${membersOf(owner)}/${admin.userId}`, { role: 'owner' })).status, 200);
    assert.equal((await owner.client.delete(`${membersOf(owner)}/${owner.userId}`)).status, 204);
  });
});
