import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiCall, atStartOfMinute, createKey, describeEachBackend, newTenant, type Harness, type Reply } from './harness.js';

const CURRENT = '/api/v1/api_keys/current';
const ROTATE_SELF = '/api/v1/api_keys/current/rotate';

function assertRefused(reply: Reply, status: number, code: string): void {
  assert.equal(reply.status, status, reply.raw);
  assert.equal(reply.body.error.code, code);
  assert.equal(reply.body.error.request_id, reply.headers['request-id']);
}

function assertNoRateLimitHeaders(reply: Reply): void {
  assert.equal(reply.headers['x-ratelimit-limit'], undefined);
}

/** Until "last used" shows in the list: it is written by a coalescing flush, not per request. */
async function lastUsed(h: Harness, keysUrl: string, keyId: string, client: { get(url: string): Promise<Reply> }): Promise<Reply['body']> {
  for (let i = 0; i < 200; i++) {
    const key = (await client.get(`${keysUrl}/${keyId}`)).body;
    if (key.last_used_at) return key;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`last_used_at never appeared (${h.backend})`);
}

describeEachBackend('the protected API: verification', (harness) => {
  it('refuses a missing or malformed Authorization header with 401 missing_api_key and an RFC 6750 challenge', async () => {
    const h = harness();
    const headerSets: Array<Record<string, string>> = [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer' }, { authorization: '' }];
    for (const headers of headerSets) {
      const reply = await apiCall(h, null, CURRENT, { headers });
      assertRefused(reply, 401, 'missing_api_key');
      assert.equal(reply.headers['www-authenticate'], 'Bearer realm="latchkey"');
      assert.match(String(reply.headers['request-id']), /^req_/);
      assertNoRateLimitHeaders(reply);
    }
  });

  it('refuses a key of the wrong shape, brand or checksum, and an unknown key, with 401 invalid_api_key', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const secret = (await createKey(tenant)).body.secret as string;
    const flipped = secret.slice(0, 20) + (secret[20] === 'a' ? 'b' : 'a') + secret.slice(21);
    const { generateSecret } = await import('../src/keys/key-format.js');
    for (const bad of ['nope', secret.replace('lk_', 'xx_'), flipped, secret.slice(0, -1), generateSecret('lk', 'live')]) {
      const reply = await apiCall(h, bad, CURRENT, { ip: '192.0.2.50' });
      assertRefused(reply, 401, 'invalid_api_key');
      assert.match(String(reply.headers['www-authenticate']), /^Bearer realm="latchkey", error="invalid_token"/);
      assert.ok(!reply.raw.includes(bad), 'the key is not echoed');
    }
  });

  it('answers with the calling key, rate-limit headers and a request id', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { name: 'qa-ingest', scopes: ['conversations:write'], rate_limit: { per_minute: 10 } })).body;
    const reply = await apiCall(h, key.secret, CURRENT);
    assert.equal(reply.status, 200);
    assert.deepEqual([reply.body.id, reply.body.name, reply.body.mode, reply.body.scopes], [key.id, 'qa-ingest', 'live', ['conversations:write']]);
    assert.deepEqual(reply.body.calling_secret.version, 1);
    assert.ok(!reply.raw.includes(key.secret));
    assert.equal(reply.headers['x-ratelimit-limit'], '10');
    assert.equal(reply.headers['x-ratelimit-remaining'], '9');
    const reset = Number(reply.headers['x-ratelimit-reset']);
    const nowSeconds = h.clock.now.getTime() / 1000;
    assert.ok(reset > nowSeconds && reset <= nowSeconds + 60, 'Reset is when the minute window refills');
  });

  it('refuses a revoked key from the very next request', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    assert.equal((await apiCall(h, key.secret, CURRENT)).status, 200);
    await tenant.client.delete(`${tenant.keys}/${key.id}`);
    const reply = await apiCall(h, key.secret, CURRENT);
    assertRefused(reply, 401, 'api_key_revoked');
    assertNoRateLimitHeaders(reply);
  });

  it('keeps the old secret working for the overlap, then answers api_key_expired; a version revoked early answers api_key_revoked', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    const url = `${tenant.keys}/${key.id}`;
    assert.equal((await apiCall(h, key.secret, CURRENT)).status, 200);
    const rotated = (await tenant.client.post(`${url}/rotate`, { overlap_seconds: 600 })).body;
    assert.equal((await apiCall(h, key.secret, CURRENT)).status, 200, 'old secret works during the overlap');
    assert.equal((await apiCall(h, rotated.secret, CURRENT)).body.calling_secret.version, 2);

    h.clock.advance(601);
    try {
      assertRefused(await apiCall(h, key.secret, CURRENT), 401, 'api_key_expired');
      assert.equal((await apiCall(h, rotated.secret, CURRENT)).status, 200);
    } finally {
      h.clock.advance(-601);
    }

    const third = (await tenant.client.post(`${url}/rotate`)).body;
    assert.equal((await apiCall(h, rotated.secret, CURRENT)).status, 200);
    await tenant.client.post(`${url}/secrets/${third.secrets[1].id}/revoke`);
    assertRefused(await apiCall(h, rotated.secret, CURRENT), 401, 'api_key_revoked');
    assert.equal((await apiCall(h, third.secret, CURRENT)).status, 200);
  });

  it('enforces the IP allowlist before the rate limit, and ignores X-Forwarded-For when no proxy is trusted', async () => {
    const h = harness();
    const restore = atStartOfMinute(h);
    try {
      const tenant = await newTenant(h);
      const key = (await createKey(tenant, { ip_allowlist: ['203.0.113.0/24', '2001:db8::/32'], rate_limit: { per_minute: 3 } })).body;
      assert.equal((await apiCall(h, key.secret, CURRENT, { ip: '203.0.113.9' })).status, 200);
      assert.equal((await apiCall(h, key.secret, CURRENT, { ip: '::ffff:203.0.113.10' })).status, 200);
      for (let i = 0; i < 5; i++) {
        const refused = await apiCall(h, key.secret, CURRENT, { ip: '198.51.100.7', headers: { 'x-forwarded-for': '203.0.113.9' } });
        assertRefused(refused, 403, 'ip_not_allowed');
        assert.match(refused.body.error.message, /198\.51\.100\.7/);
        assertNoRateLimitHeaders(refused);
      }
      // The refusals from elsewhere burnt none of the owner's quota: the third of three requests passes.
      const allowed = await apiCall(h, key.secret, CURRENT, { ip: '2001:db8::1' });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers['x-ratelimit-remaining'], '0');
    } finally {
      restore();
    }
  });

  it('counts down, refuses with 429 and Retry-After, and passes again after waiting Retry-After seconds', async () => {
    const h = harness();
    const restore = atStartOfMinute(h);
    try {
      const tenant = await newTenant(h);
      const key = (await createKey(tenant, { rate_limit: { per_minute: 5, per_hour: 100 } })).body;
      const remaining: string[] = [];
      for (let i = 0; i < 5; i++) {
        const reply = await apiCall(h, key.secret, CURRENT);
        assert.equal(reply.status, 200);
        remaining.push(String(reply.headers['x-ratelimit-remaining']));
      }
      assert.deepEqual(remaining, ['4', '3', '2', '1', '0']);
      const refused = await apiCall(h, key.secret, CURRENT);
      assertRefused(refused, 429, 'rate_limited');
      const retryAfter = Number(refused.headers['retry-after']);
      assert.ok(retryAfter >= 1 && retryAfter <= 60);
      assert.equal(refused.headers['x-ratelimit-remaining'], '0');
      assert.equal(Number(refused.headers['x-ratelimit-reset']) * 1000 - h.clock.now.getTime() <= retryAfter * 1000, true);

      h.clock.advance(retryAfter);
      try {
        const again = await apiCall(h, key.secret, CURRENT);
        assert.equal(again.status, 200);
        assert.equal(again.headers['x-ratelimit-remaining'], '4');
      } finally {
        h.clock.advance(-retryAfter);
      }
    } finally {
      restore();
    }
  });

  it('reports the window nearer exhaustion when a key has two', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { rate_limit: { per_minute: 50, per_hour: 3 } })).body;
    const reply = await apiCall(h, key.secret, CURRENT);
    assert.deepEqual([reply.headers['x-ratelimit-limit'], reply.headers['x-ratelimit-remaining']], ['3', '2']);
  });

  it('refuses a route whose scope the key lacks, naming the scope, after the rate limit', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { scopes: ['tickets:read'] })).body;
    const reply = await apiCall(h, key.secret, ROTATE_SELF, { method: 'POST' });
    assertRefused(reply, 403, 'insufficient_scope');
    assert.match(reply.body.error.message, /keys:rotate_self/);
    assert.equal(reply.headers['x-ratelimit-remaining'], '59', 'an authenticated refusal carries the rate-limit headers');
  });

  it('applies scope, allowlist and limit changes from the next request', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { scopes: ['keys:rotate_self'] })).body;
    const url = `${tenant.keys}/${key.id}`;
    assert.equal((await apiCall(h, key.secret, CURRENT)).body.scopes[0], 'keys:rotate_self');
    await tenant.client.patch(url, { scopes: ['tickets:read'] });
    assertRefused(await apiCall(h, key.secret, ROTATE_SELF, { method: 'POST' }), 403, 'insufficient_scope');
    await tenant.client.patch(url, { ip_allowlist: ['192.0.2.1'] });
    assertRefused(await apiCall(h, key.secret, CURRENT), 403, 'ip_not_allowed');
    await tenant.client.patch(url, { ip_allowlist: [], rate_limit: { per_minute: 7 } });
    assert.equal((await apiCall(h, key.secret, CURRENT)).headers['x-ratelimit-limit'], '7');
  });

  it('lets a key rotate itself with keys:rotate_self: a new secret once, and the overlap starts for the calling one', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { scopes: ['keys:rotate_self'] })).body;
    const rotated = await apiCall(h, key.secret, ROTATE_SELF, { method: 'POST', body: { overlap_seconds: 3600 } });
    assert.equal(rotated.status, 200, rotated.raw);
    assert.match(rotated.body.secret, /^lk_live_/);
    assert.equal(rotated.body.secret_version, 2);
    assert.ok(Math.abs(Date.parse(rotated.body.calling_secret.expires_at) - h.clock.now.getTime() - 3600_000) < 60_000);
    assert.equal((await apiCall(h, rotated.body.secret, CURRENT)).body.calling_secret.version, 2);
    assert.equal((await apiCall(h, key.secret, CURRENT)).status, 200, 'the calling secret lives on for the overlap');
    const event = await h.db.selectFrom('management_events').selectAll().where('target_id', '=', key.id).where('action', '=', 'api_key.rotate').executeTakeFirstOrThrow();
    assert.equal(event.actor_user_id, null);
    assert.equal(event.details.via_api_key, key.id);
  });

  it('shows "last used" in the list within a few seconds, with the source IP', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    assert.equal((await tenant.client.get(`${tenant.keys}/${key.id}`)).body.last_used_at, null);
    await apiCall(h, key.secret, CURRENT, { ip: '192.0.2.77' });
    const used = await lastUsed(h, tenant.keys, key.id, tenant.client);
    assert.equal(used.last_used_ip, '192.0.2.77');
    assert.ok(used.secrets[0].last_used_at);
  });

  it("records last use on the calling key alone: another tenant's call leaves it as it was", async () => {
    const h = harness();
    const first = await newTenant(h);
    const second = await newTenant(h);
    const used = (await createKey(first)).body;
    const other = (await createKey(second)).body;
    await apiCall(h, used.secret, CURRENT, { ip: '192.0.2.10' });
    const before = await lastUsed(h, first.keys, used.id, first.client);
    h.clock.advance(60);
    try {
      await apiCall(h, other.secret, CURRENT, { ip: '198.51.100.20' });
      assert.equal((await lastUsed(h, second.keys, other.id, second.client)).last_used_ip, '198.51.100.20');
    } finally {
      h.clock.advance(-60);
    }
    const after = (await first.client.get(`${first.keys}/${used.id}`)).body;
    assert.equal(after.last_used_ip, '192.0.2.10');
    assert.equal(after.last_used_at, before.last_used_at);
    assert.equal(after.secrets[0].last_used_at, before.secrets[0].last_used_at);
  });

  it('limits made-up keys per source IP, without touching real keys from elsewhere', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    const { generateSecret } = await import('../src/keys/key-format.js');
    const codes: string[] = [];
    for (let i = 0; i < 35; i++) codes.push((await apiCall(h, generateSecret('lk', 'live'), CURRENT, { ip: '192.0.2.66' })).body.error.code);
    assert.deepEqual(codes.slice(0, 30), Array(30).fill('invalid_api_key'));
    assert.deepEqual(codes.slice(30), Array(5).fill('rate_limited'));
    const blocked = await apiCall(h, generateSecret('lk', 'live'), CURRENT, { ip: '192.0.2.66' });
    assert.ok(Number(blocked.headers['retry-after']) >= 1);
    assert.equal((await apiCall(h, key.secret, CURRENT, { ip: '192.0.2.67' })).status, 200);
  });

  it('does not count dead keys against the source IP: a fleet sending old secrets keeps its new one', async () => {
    const h = harness();
    const restore = atStartOfMinute(h);
    try {
      const tenant = await newTenant(h);
      const revoked = (await createKey(tenant)).body;
      await tenant.client.delete(`${tenant.keys}/${revoked.id}`);
      const rotated = (await createKey(tenant)).body;
      await tenant.client.post(`${tenant.keys}/${rotated.id}/rotate`, { overlap_seconds: 0 });
      const fresh = (await createKey(tenant)).body;
      const codes = new Set<string>();
      for (let i = 0; i < 20; i++) {
        codes.add((await apiCall(h, revoked.secret, CURRENT, { ip: '192.0.2.88' })).body.error.code);
        codes.add((await apiCall(h, rotated.secret, CURRENT, { ip: '192.0.2.88' })).body.error.code);
      }
      assert.deepEqual([...codes].sort(), ['api_key_expired', 'api_key_revoked'], 'forty refusals, none of them 429');
      // Never used yet, so not cached: a blocked address would be refused before its lookup.
      assert.equal((await apiCall(h, fresh.secret, CURRENT, { ip: '192.0.2.88' })).status, 200);
    } finally {
      restore();
    }
  });
});

describeEachBackend(
  'the protected API behind a trusted proxy',
  (harness) => {
    it('believes X-Forwarded-For from a trusted proxy only', async () => {
      const h = harness();
      const tenant = await newTenant(h);
      const key = (await createKey(tenant, { ip_allowlist: ['203.0.113.9'] })).body;
      const viaProxy = await apiCall(h, key.secret, CURRENT, { ip: '10.0.0.2', headers: { 'x-forwarded-for': '203.0.113.9' } });
      assert.equal(viaProxy.status, 200, viaProxy.raw);
      const direct = await apiCall(h, key.secret, CURRENT, { ip: '198.51.100.1', headers: { 'x-forwarded-for': '203.0.113.9' } });
      assertRefused(direct, 403, 'ip_not_allowed');
    });
  },
  { env: { TRUST_PROXY: '10.0.0.0/8' } },
);
