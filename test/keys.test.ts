import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiCall, createKey, describeEachBackend, newTenant } from './harness.js';

const SECRET_SHAPE = /^lk_(live|test)_[0-9A-Za-z]{36}$/;

describeEachBackend('API key lifecycle', (harness) => {
  it('creates a key with its settings and shows the secret once', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const created = await createKey(tenant, {
      name: 'data-warehouse-export',
      mode: 'test',
      scopes: ['conversations:read', 'contacts:read'],
      rate_limit: { per_minute: 120, per_hour: 5000 },
      ip_allowlist: ['203.0.113.0/24', '2001:db8::1'],
    });
    assert.equal(created.status, 201);
    const key = created.body;
    assert.match(key.secret, /^lk_test_/);
    assert.match(key.secret, SECRET_SHAPE);
    assert.equal(key.prefix, `${key.secret.slice(0, 12)}…`);
    assert.deepEqual(
      {
        object: key.object,
        name: key.name,
        mode: key.mode,
        scopes: key.scopes,
        rate_limit: key.rate_limit,
        ip_allowlist: key.ip_allowlist,
        status: key.status,
        created_by: key.created_by,
        last_used_at: key.last_used_at,
        revoked_at: key.revoked_at,
      },
      {
        object: 'api_key',
        name: 'data-warehouse-export',
        mode: 'test',
        scopes: ['conversations:read', 'contacts:read'],
        rate_limit: { per_minute: 120, per_hour: 5000 },
        ip_allowlist: ['203.0.113.0/24', '2001:db8::1'],
        status: 'active',
        created_by: { type: 'user', id: tenant.userId, email: tenant.email },
        last_used_at: null,
        revoked_at: null,
      },
    );
    assert.equal(key.secrets.length, 1);
    assert.deepEqual([key.secrets[0].version, key.secrets[0].status, key.secrets[0].expires_at], [1, 'active', null]);

    const got = await tenant.client.get(`${tenant.keys}/${key.id}`);
    const listed = await tenant.client.get(tenant.keys);
    for (const reply of [got, listed]) {
      assert.equal(reply.status, 200);
      assert.ok(!reply.raw.includes(key.secret), 'the secret is never returned again');
      assert.ok(!reply.raw.includes('"secret"'), 'no secret field outside create and rotate');
    }
    const { secret: _secret, ...withoutSecret } = key;
    assert.deepEqual(got.body, withoutSecret);
  });

  it('uses 60 per minute, live mode and no allowlist by default', async () => {
    const tenant = await newTenant(harness());
    const key = (await createKey(tenant)).body;
    assert.deepEqual([key.mode, key.rate_limit, key.ip_allowlist], ['live', { per_minute: 60, per_hour: null }, []]);
    assert.match(key.secret, /^lk_live_/);
  });

  it('lists every column the seeds name, newest first, with status filters and pages', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const ids: string[] = [];
    for (const name of ['first', 'second', 'third']) ids.push((await createKey(tenant, { name, scopes: ['tickets:read', 'tickets:write'] })).body.id);
    await tenant.client.delete(`${tenant.keys}/${ids[0]}`);

    const active = await tenant.client.get(tenant.keys);
    assert.equal(active.body.object, 'list');
    assert.deepEqual(active.body.data.map((k: { name: string }) => k.name), ['third', 'second']);
    const row = active.body.data[0];
    for (const field of ['name', 'prefix', 'mode', 'scopes', 'rate_limit', 'last_used_at', 'created_by', 'created_at']) {
      assert.ok(field in row, `list rows carry ${field}`);
    }
    assert.equal(row.scopes.length, 2);
    assert.equal(row.last_used_at, null, 'never used shows as null (Never)');

    const revoked = await tenant.client.get(`${tenant.keys}?status=revoked`);
    assert.deepEqual(revoked.body.data.map((k: { name: string }) => k.name), ['first']);
    const all = await tenant.client.get(`${tenant.keys}?status=all&limit=2`);
    assert.deepEqual([all.body.data.length, all.body.has_more], [2, true]);
    const next = await tenant.client.get(`${tenant.keys}?status=all&limit=2&cursor=${all.body.next_cursor}`);
    assert.deepEqual([next.body.data.map((k: { name: string }) => k.name), next.body.has_more, next.body.next_cursor], [['first'], false, null]);
  });

  it('updates name, scopes, limits and allowlist; a partial rate limit keeps the other window', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { rate_limit: { per_minute: 100, per_hour: 1000 } })).body;
    const url = `${tenant.keys}/${key.id}`;
    const updated = await tenant.client.patch(url, {
      name: 'renamed',
      scopes: ['tickets:read'],
      rate_limit: { per_minute: 30 },
      ip_allowlist: ['192.0.2.1'],
    });
    assert.equal(updated.status, 200);
    assert.deepEqual(
      [updated.body.name, updated.body.scopes, updated.body.rate_limit, updated.body.ip_allowlist],
      ['renamed', ['tickets:read'], { per_minute: 30, per_hour: 1000 }, ['192.0.2.1']],
    );
    const cleared = await tenant.client.patch(url, { rate_limit: { per_hour: null }, ip_allowlist: [] });
    assert.deepEqual([cleared.body.rate_limit, cleared.body.ip_allowlist], [{ per_minute: 30, per_hour: null }, []]);
    assert.equal((await tenant.client.get(url)).body.name, 'renamed');
  });

  it('refuses an allowlist entry with a zone id, naming it; ::a.b.c.d is not the IPv4 host a.b.c.d', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const zoned = await createKey(tenant, { ip_allowlist: ['203.0.113.7', 'fe80::1%eth0'] });
    assert.equal(zoned.status, 400, zoned.raw);
    assert.deepEqual([zoned.body.error.code, zoned.body.error.param], ['invalid_request', 'ip_allowlist.1']);
    assert.match(zoned.body.error.message, /"fe80::1%eth0" has an IPv6 zone id/);

    const key = (await createKey(tenant, { ip_allowlist: ['203.0.113.7', '::198.51.100.4'] })).body;
    assert.deepEqual(key.ip_allowlist, ['203.0.113.7', '::c633:6404']);
    const from = async (ip: string) => (await apiCall(h, key.secret, '/api/v1/ping', { ip })).status;
    assert.deepEqual(
      [await from('203.0.113.7'), await from('::ffff:203.0.113.7'), await from('::203.0.113.7'), await from('198.51.100.4'), await from('::198.51.100.4')],
      [200, 200, 403, 403, 200],
    );
  });

  it('holds a key without an hour window to the ceiling\'s hour window, and one without a minute window to the minute one', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const setCeiling = (perMinute: number, perHour: number) =>
      h.db.updateTable('workspaces').set({ ceiling_per_minute: perMinute, ceiling_per_hour: perHour }).where('id', '=', tenant.workspaceId).execute();
    // Hour windows are aligned to the clock: start just after one begins so the test stays inside it.
    const toNextHour = (3_600_000 - (h.clock.now.getTime() % 3_600_000) + 200) / 1000;
    h.clock.advance(toNextHour);
    let moved = toNextHour;
    try {
      await setCeiling(100, 150);
      const minuteOnly = (await createKey(tenant, { rate_limit: { per_minute: 100 } })).body;
      assert.deepEqual(minuteOnly.rate_limit, { per_minute: 100, per_hour: 150 }, 'the open hour window takes the ceiling\'s, and the key says so');
      const statuses = async (secret: string, n: number) => {
        const seen: number[] = [];
        for (let i = 0; i < n; i++) seen.push((await apiCall(h, secret, '/api/v1/ping')).status);
        return seen;
      };
      assert.deepEqual(await statuses(minuteOnly.secret, 101), [...Array(100).fill(200), 429], 'the minute window holds first');
      h.clock.advance(60);
      moved += 60;
      assert.deepEqual(await statuses(minuteOnly.secret, 50), Array(50).fill(200));
      const refused = await apiCall(h, minuteOnly.secret, '/api/v1/ping');
      assert.equal(refused.status, 429, 'the 151st request of the hour: the ceiling\'s hour window holds the key');
      assert.ok(Number(refused.headers['retry-after']) > 60, `Retry-After runs to the end of the hour, got ${refused.headers['retry-after']}`);

      await setCeiling(20, 1200);
      const hourOnly = (await createKey(tenant, { rate_limit: { per_minute: null, per_hour: 1200 } })).body;
      assert.deepEqual(hourOnly.rate_limit, { per_minute: 20, per_hour: 1200 });
      assert.deepEqual(await statuses(hourOnly.secret, 21), [...Array(20).fill(200), 429], 'no more than the ceiling\'s 20 in a minute');

      // A PATCH that opens a window is held the same way.
      const patched = await tenant.client.patch(`${tenant.keys}/${hourOnly.id}`, { rate_limit: { per_minute: null } });
      assert.deepEqual(patched.body.rate_limit, { per_minute: 20, per_hour: 1200 });
    } finally {
      h.clock.advance(-moved);
    }
  });

  it('rotates: the old version lives for the overlap, then expires', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    const rotated = await tenant.client.post(`${tenant.keys}/${key.id}/rotate`);
    assert.equal(rotated.status, 200);
    assert.match(rotated.body.secret, SECRET_SHAPE);
    assert.notEqual(rotated.body.secret, key.secret);
    assert.equal(rotated.body.prefix, `${rotated.body.secret.slice(0, 12)}…`);
    const [v2, v1] = rotated.body.secrets;
    assert.deepEqual([v2.version, v2.status, v2.expires_at], [2, 'active', null]);
    assert.deepEqual([v1.version, v1.status], [1, 'expiring']);
    const overlap = (Date.parse(v1.expires_at) - Date.now()) / 1000;
    assert.ok(Math.abs(overlap - 86400) < 60, `default overlap is 24 h, got ${overlap}s`);

    h.clock.advance(86400 + 1);
    try {
      const later = await tenant.client.get(`${tenant.keys}/${key.id}`);
      assert.deepEqual(later.body.secrets.map((s: { status: string }) => s.status), ['active', 'expired']);
    } finally {
      h.clock.advance(-(86400 + 1));
    }
  });

  it('rotates with a chosen overlap, and ending the oldest when rotating again keeps two usable versions', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    const rotate = (body?: unknown) => tenant.client.post(`${tenant.keys}/${key.id}/rotate`, body);
    const first = await rotate({ overlap_seconds: 600 });
    assert.ok(Math.abs(Date.parse(first.body.secrets[1].expires_at) - Date.now() - 600_000) < 60_000);
    const second = await rotate({ overlap_seconds: 3600 });
    assert.deepEqual(second.body.secrets.map((s: { version: number; status: string }) => [s.version, s.status]), [
      [3, 'active'],
      [2, 'expiring'],
      [1, 'expired'],
    ]);
    const immediate = await rotate({ overlap_seconds: 0 });
    assert.deepEqual(immediate.body.secrets.map((s: { status: string }) => s.status), ['active', 'expired', 'expired', 'expired']);
  });

  it('lets only the current secret rotate itself: an older one in its overlap is refused and changes nothing', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { scopes: ['keys:rotate_self'] })).body;
    const url = `${tenant.keys}/${key.id}`;
    const selfRotate = (secret: string) => apiCall(h, secret, '/api/v1/api_keys/current/rotate', { method: 'POST' });
    const rotations = async () =>
      (await h.db.selectFrom('management_events').select('id').where('target_id', '=', key.id).where('action', '=', 'api_key.rotate').execute()).length;

    const v2 = (await tenant.client.post(`${url}/rotate`)).body;
    const before = (await tenant.client.get(url)).body;
    const refused = await selfRotate(key.secret);
    assert.equal(refused.status, 403, refused.raw);
    assert.equal(refused.body.error.code, 'not_current_secret');
    assert.match(refused.body.error.message, /current secret/);
    assert.ok(!refused.raw.includes('"secret"'), 'no new secret handed out');
    // The refused call was still a call of that secret: its last use may be written meanwhile; nothing else changes.
    const versions = (secrets: Array<Record<string, unknown>>) => secrets.map(({ last_used_at: _lastUsed, ...rest }) => rest);
    assert.deepEqual(versions((await tenant.client.get(url)).body.secrets), versions(before.secrets), 'the refused call changed no version');
    assert.equal(await rotations(), 1);
    assert.equal((await apiCall(h, v2.secret, '/api/v1/ping')).status, 200, 'the current secret still works');

    // The current secret may, once; then it is the older one in turn.
    const v3 = await selfRotate(v2.secret);
    assert.equal(v3.status, 200, v3.raw);
    assert.equal(v3.body.secret_version, 3);
    assert.equal((await selfRotate(v2.secret)).body.error.code, 'not_current_secret');
    assert.deepEqual((await tenant.client.get(url)).body.secrets.map((s: { version: number; status: string }) => [s.version, s.status]), [
      [3, 'active'],
      [2, 'expiring'],
      [1, 'expired'],
    ]);
    assert.equal((await apiCall(h, v3.body.secret, '/api/v1/ping')).status, 200);
    assert.equal(await rotations(), 2);
  });

  it('revokes an old version early, but never the current one', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    const rotated = (await tenant.client.post(`${tenant.keys}/${key.id}/rotate`)).body;
    const [current, old] = rotated.secrets;
    const revokeOld = await tenant.client.post(`${tenant.keys}/${key.id}/secrets/${old.id}/revoke`);
    assert.equal(revokeOld.status, 200);
    assert.equal(revokeOld.body.secrets[1].status, 'revoked');
    assert.ok(revokeOld.body.secrets[1].revoked_at);
    const again = await tenant.client.post(`${tenant.keys}/${key.id}/secrets/${old.id}/revoke`);
    assert.equal(again.body.secrets[1].revoked_at, revokeOld.body.secrets[1].revoked_at, 'revoking twice changes nothing');

    const revokeCurrent = await tenant.client.post(`${tenant.keys}/${key.id}/secrets/${current.id}/revoke`);
    assert.equal(revokeCurrent.status, 409);
    assert.match(revokeCurrent.body.error.message, /current secret/);
    const unknown = await tenant.client.post(`${tenant.keys}/${key.id}/secrets/sec_nope/revoke`);
    assert.equal(unknown.status, 404);
  });

  it('revokes a key: immediate, permanent, every version dead, no way back', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    const url = `${tenant.keys}/${key.id}`;
    await tenant.client.post(`${url}/rotate`);
    const revoked = await tenant.client.delete(url);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.status, 'revoked');
    assert.ok(revoked.body.revoked_at);
    assert.deepEqual(revoked.body.secrets.map((s: { status: string }) => s.status), ['revoked', 'revoked']);

    for (const reply of [
      await tenant.client.patch(url, { name: 'back' }),
      await tenant.client.post(`${url}/rotate`),
      await tenant.client.post(`${url}/secrets/${key.secrets[0].id}/revoke`),
    ]) {
      assert.equal(reply.status, 409);
      assert.match(reply.body.error.message, /revoked/);
    }
    const again = await tenant.client.delete(url);
    assert.equal(again.body.revoked_at, revoked.body.revoked_at);
  });

  it('records every key action with actor, time, source IP and target', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    const url = `${tenant.keys}/${key.id}`;
    await tenant.client.patch(url, { name: 'renamed' });
    const rotated = (await tenant.client.post(`${url}/rotate`)).body;
    await tenant.client.post(`${url}/secrets/${rotated.secrets[1].id}/revoke`);
    await tenant.client.delete(url);

    const events = await h.db.selectFrom('management_events').selectAll().where('workspace_id', '=', tenant.workspaceId).orderBy('id').execute();
    const keyEvents = events.filter((e) => e.action.startsWith('api_key.'));
    assert.deepEqual(keyEvents.map((e) => e.action), ['api_key.create', 'api_key.update', 'api_key.rotate', 'api_key.secret_revoke', 'api_key.revoke']);
    for (const event of keyEvents) {
      assert.equal(event.actor_user_id, tenant.userId);
      assert.equal(event.actor_email, tenant.email);
      assert.equal(event.source_ip, '127.0.0.1');
      assert.ok(event.created_at instanceof Date);
      assert.ok(event.request_id?.startsWith('req_'));
    }
    assert.deepEqual(keyEvents.map((e) => e.target_id), [key.id, key.id, key.id, rotated.secrets[1].id, key.id]);
    assert.deepEqual(keyEvents[1]?.details.changed, ['name']);
  });
});

describeEachBackend('API key meta and expiry', (harness) => {
  it('creates and shows a key with meta and expires_at, and lists it', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const expiresAt = new Date(h.clock.now.getTime() + 86_400_000).toISOString();
    const created = await createKey(tenant, { meta: { customer: 'cus_42', plan: { tier: 'pro', seats: 5 } }, expires_at: expiresAt });
    assert.equal(created.status, 201, created.raw);
    assert.deepEqual([created.body.meta, created.body.expires_at, created.body.status], [{ customer: 'cus_42', plan: { tier: 'pro', seats: 5 } }, expiresAt, 'active']);
    const got = await tenant.client.get(`${tenant.keys}/${created.body.id}`);
    assert.deepEqual([got.body.meta, got.body.expires_at], [created.body.meta, expiresAt]);
    const plain = (await createKey(tenant)).body;
    assert.deepEqual([plain.meta, plain.expires_at], [{}, null], 'defaults: {} and no end');
    const listed = (await tenant.client.get(tenant.keys)).body.data.find((k: { id: string }) => k.id === created.body.id);
    assert.deepEqual([listed.meta, listed.expires_at], [created.body.meta, expiresAt]);
  });

  it('refuses a bad meta or expires_at, naming the field, on create and PATCH', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    const past = new Date(h.clock.now.getTime() - 1000).toISOString();
    const leaked = (await createKey(tenant)).body.secret as string;
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['expires_at in the past', { expires_at: past }, 'expires_at'],
      ['expires_at not a date-time', { expires_at: 'tomorrow' }, 'expires_at'],
      ['expires_at a date only', { expires_at: '2099-01-01' }, 'expires_at'],
      ['meta over 4 KB', { meta: { note: 'x'.repeat(4100) } }, 'meta'],
      ['meta not an object', { meta: ['a'] }, 'meta'],
      ['meta holding a key', { meta: { backup: leaked } }, 'meta'],
    ];
    for (const [name, fields, param] of cases) {
      for (const reply of [await createKey(tenant, fields), await tenant.client.patch(`${tenant.keys}/${key.id}`, fields)]) {
        assert.equal(reply.status, 400, `${name}: ${reply.raw}`);
        assert.deepEqual([reply.body.error.code, reply.body.error.param], ['invalid_request', param], name);
        assert.ok(!reply.raw.includes(leaked), 'the secret is not echoed');
      }
    }
    assert.deepEqual((await tenant.client.get(`${tenant.keys}/${key.id}`)).body.meta, {}, 'nothing changed');
  });

  it("expires a key at its expires_at on every secret, even cached, and a PATCH extends it at once", async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { expires_at: new Date(h.clock.now.getTime() + 60_000).toISOString() })).body;
    const rotated = (await tenant.client.post(`${tenant.keys}/${key.id}/rotate`)).body;
    for (const secret of [key.secret, rotated.secret]) assert.equal((await apiCall(h, secret, '/api/v1/conversations')).status, 200, 'cached now');

    h.clock.advance(61);
    try {
      for (const secret of [key.secret, rotated.secret]) {
        const refused = await apiCall(h, secret, '/api/v1/conversations');
        assert.deepEqual([refused.status, refused.body.error.code], [401, 'api_key_expired']);
        assert.match(String(refused.headers['www-authenticate']), /invalid_token/);
      }
      const shown = (await tenant.client.get(`${tenant.keys}/${key.id}`)).body;
      assert.equal(shown.status, 'expired');
      assert.ok((await tenant.client.get(tenant.keys)).body.data.some((k: { id: string; status: string }) => k.id === key.id && k.status === 'expired'), 'listed as expired');

      const extended = await tenant.client.patch(`${tenant.keys}/${key.id}`, { expires_at: new Date(h.clock.now.getTime() + 3_600_000).toISOString() });
      assert.equal(extended.body.status, 'active');
      assert.equal((await apiCall(h, rotated.secret, '/api/v1/conversations')).status, 200, 'the change reached the cache');
      const cleared = await tenant.client.patch(`${tenant.keys}/${key.id}`, { expires_at: null });
      assert.deepEqual([cleared.status, cleared.body.expires_at], [200, null]);
    } finally {
      h.clock.advance(-61);
    }
  });

  it('announces a meta change to the cache and logs the changed field names, never meta values', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { meta: { customer: 'first-value' } })).body;
    const patched = await tenant.client.patch(`${tenant.keys}/${key.id}`, { meta: { customer: 'second-value' }, name: 'renamed' });
    assert.deepEqual(patched.body.meta, { customer: 'second-value' });
    const events = await h.db.selectFrom('management_events').selectAll().where('target_id', '=', key.id).orderBy('id').execute();
    assert.deepEqual(events.map((e) => e.action), ['api_key.create', 'api_key.update']);
    assert.deepEqual(events[0]!.details.meta_fields, ['customer']);
    assert.deepEqual([...(events[1]!.details.changed as string[])].sort(), ['meta', 'name']);
    const text = JSON.stringify(events.map((e) => e.details));
    assert.ok(!text.includes('first-value') && !text.includes('second-value'), text);
  });
});
