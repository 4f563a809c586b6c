import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { freePort, startServer, type RunningServer } from './process.js';
import { createTestDatabase, describeOrSkip, productionServicesSkipReason, TEST_REDIS_URL } from './services.js';

const ROOT = new URL('..', import.meta.url).pathname;
const skip = (await productionServicesSkipReason()) ?? false;
const SLOW_MS = 300;

/** A console session against a real server: cookie and CSRF token, as a browser keeps them. */
class Session {
  cookie = '';
  csrf = '';
  constructor(private readonly base: string) {}

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const response = await fetch(this.base + path, {
      method,
      headers: {
        cookie: this.cookie,
        'x-csrf-token': this.csrf,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) this.cookie = setCookie.split(';')[0] ?? '';
    const json = (await response.json().catch(() => null)) as { csrf_token?: string } | null;
    if (json?.csrf_token) this.csrf = json.csrf_token;
    return { status: response.status, body: json };
  }
}

async function callApi(base: string, secret: string, path = '/api/v1/api_keys/current') {
  const response = await fetch(base + path, { headers: { authorization: `Bearer ${secret}` } });
  await response.arrayBuffer();
  return response;
}

async function cacheHits(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^latchkey_key_cache_lookups_total\{result="hit"\} (\S+)$/m.exec(text)?.[1] ?? 0);
}

/** Starts at least `margin` seconds before the end of a minute window, so a burst stays in one window. */
async function awayFromMinuteEdge(margin = 15): Promise<void> {
  const intoWindow = (Date.now() / 1000) % 60;
  if (intoWindow > 60 - margin) await new Promise((resolve) => setTimeout(resolve, (60 - intoWindow + 1) * 1000));
}

describeOrSkip('three instances on one PostgreSQL and one Redis', { skip }, () => {
  const servers: RunningServer[] = [];
  let dropDatabase: (() => Promise<void>) | undefined;
  let session: Session;
  let keysUrl: string;

  before(async () => {
    const database = await createTestDatabase();
    dropDatabase = database.drop;
    const env = { DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, LOG_LEVEL: 'warn' };
    const start = async (extra: Record<string, string> = {}) =>
      startServer(process.execPath, ['--import', 'tsx', `${ROOT}src/main.ts`], { ...env, ...extra }, await freePort());
    servers.push(await start());
    // The third instance handles each announced key change SLOW_MS late, as a busy or distant one would.
    servers.push(...(await Promise.all([start(), start({ TEST_KEY_CHANGE_DELAY_MS: String(SLOW_MS) })])));
    session = new Session(servers[0]!.url);
    const setup = await session.call('POST', '/v1/setup', { email: 'ops@example.com', password: 'correct horse battery', workspace_name: 'Fleet' });
    assert.equal(setup.status, 201);
    keysUrl = `/v1/workspaces/${setup.body.workspace.id}/api-keys`;
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await dropDatabase?.();
  });

  it('shares one exact rate limit: 150 concurrent requests over 3 instances, exactly the limit pass', async () => {
    const key = (await session.call('POST', keysUrl, { name: 'bulk', scopes: ['tickets:read'], rate_limit: { per_minute: 50 } })).body;
    await awayFromMinuteEdge();
    const replies = await Promise.all(Array.from({ length: 150 }, (_, i) => callApi(servers[i % 3]!.url, key.secret)));
    const statuses = replies.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 50);
    assert.equal(statuses.filter((s) => s === 429).length, 100);
    const remaining = replies.filter((r) => r.status === 200).map((r) => Number(r.headers.get('x-ratelimit-remaining')));
    assert.deepEqual(remaining.sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i), 'each pass saw its own remaining count');
  });

  it('applies a revocation made on one instance on every other from its next request, even one slow to hear it (20 rounds)', async () => {
    for (let round = 0; round < 20; round++) {
      const key = (await session.call('POST', keysUrl, { name: `leaked-${round}`, scopes: ['tickets:read'] })).body;
      // Every instance has verified the key and now answers from its cache, which it trusts: the 401s
      // below prove the broadcast, not a cache that was never used.
      for (const server of servers) {
        assert.equal((await callApi(server.url, key.secret)).status, 200);
        const hitsBefore = await cacheHits(server.url);
        assert.equal((await callApi(server.url, key.secret)).status, 200);
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        assert.match(metrics, /^latchkey_key_cache_trusted 1$/m);
        assert.ok((await cacheHits(server.url)) > hitsBefore, 'answered from the cache');
      }
      const started = performance.now();
      const revoked = await session.call('DELETE', `${keysUrl}/${key.id}`);
      const took = performance.now() - started;
      assert.equal(revoked.status, 200);
      // The slow instance first: its request leaves right after the revoke's answer.
      const slow = (await callApi(servers[2]!.url, key.secret)).status;
      const replies = await Promise.all(servers.slice(0, 2).map(async (server) => (await callApi(server.url, key.secret)).status));
      assert.deepEqual([...replies, slow], [401, 401, 401], `round ${round}`);
      assert.ok(took >= SLOW_MS, `the revoke answered after the slow instance confirmed (${Math.round(took)} ms)`);
    }
    // Every revoke was answered on confirmations, none on the wait's bound.
    const metrics = await (await fetch(`${servers[0]!.url}/metrics`)).text();
    assert.match(metrics, /^latchkey_key_changes_unconfirmed_total 0$/m);
  });

  it('applies scope changes and version revocations everywhere at once, too', async () => {
    const key = (await session.call('POST', keysUrl, { name: 'rotating', scopes: ['keys:rotate_self'] })).body;
    for (const server of servers) assert.equal((await callApi(server.url, key.secret)).status, 200);
    await session.call('PATCH', `${keysUrl}/${key.id}`, { ip_allowlist: ['192.0.2.1'] });
    assert.deepEqual(await Promise.all(servers.map(async (s) => (await callApi(s.url, key.secret)).status)), [403, 403, 403]);
    await session.call('PATCH', `${keysUrl}/${key.id}`, { ip_allowlist: [] });
    const rotated = (await session.call('POST', `${keysUrl}/${key.id}/rotate`)).body;
    for (const server of servers) assert.equal((await callApi(server.url, key.secret)).status, 200, 'overlap');
    await session.call('POST', `${keysUrl}/${key.id}/secrets/${rotated.secrets[1].id}/revoke`);
    assert.deepEqual(await Promise.all(servers.map(async (s) => (await callApi(s.url, key.secret)).status)), [401, 401, 401]);
    assert.deepEqual(await Promise.all(servers.map(async (s) => (await callApi(s.url, rotated.secret)).status)), [200, 200, 200]);
  });

  it('shows "last used" from any instance in the list', async () => {
    const key = (await session.call('POST', keysUrl, { name: 'sync', scopes: ['tickets:read'] })).body;
    await callApi(servers[2]!.url, key.secret);
    let lastUsed: string | null = null;
    for (let i = 0; i < 50 && !lastUsed; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      lastUsed = (await session.call('GET', `${keysUrl}/${key.id}`)).body.last_used_at;
    }
    assert.ok(lastUsed, 'last_used_at appears within 5 s');
  });
});

