import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { sql } from 'kysely';
import { CAPABILITIES, type Capability } from '../src/embed/capabilities.js';
import { newId } from '../src/ids.js';
import { PERMISSIONS } from '../src/service-keys/permissions.js';
import { createServiceKeys } from '../src/service-keys/service-keys.js';
import { Client, createKey, describeEachBackend, newTenant, serviceClient, type Harness, type Reply } from './harness.js';
import { bodyFor, MANAGEMENT_ROUTES, routeName, urlOf } from './management-routes.js';

const HOST_ORIGIN = 'https://app.northwind.example';
const productFile = join(mkdtempSync(join(tmpdir(), 'latchkey-embed-')), 'product.yaml');
writeFileSync(
  productFile,
  `name: Invoicely
key_prefix: inv
accent_color: "#0f766e"
scopes:
  - { scope: invoices:read, group: Invoices, description: Read invoices }
  - { scope: invoices:write, group: Invoices, description: Create invoices }
embed:
  allowed_origins: ["${HOST_ORIGIN}/", "http://localhost:3000"]
`,
);

const EXAMPLE_USER = { external_id: 'u-42', email: 'ada@northwind.example', name: 'Ada' };

type ServiceClient = Awaited<ReturnType<typeof serviceClient>>;

/** A workspace made by the SaaS backend (no members), and its backend's service key. */
async function customer(h: Harness, permissions = PERMISSIONS) {
  const backend = await serviceClient(h, permissions);
  const workspace = await backend.post('/v1/workspaces', { name: 'Northwind', external_id: `acct-${newId('ws')}` });
  assert.equal(workspace.status, 201, workspace.raw);
  return { backend, workspaceId: workspace.body.id as string, keys: `/v1/workspaces/${workspace.body.id}/api-keys` };
}

function mint(backend: ServiceClient, workspaceId: string, fields: Record<string, unknown> = {}): Promise<Reply> {
  return backend.post('/v1/embed/sessions', { workspace_id: workspaceId, user: EXAMPLE_USER, capabilities: [...CAPABILITIES], ...fields });
}

function codeOf(url: string): string {
  const code = /#code=([A-Za-z0-9_-]+)$/.exec(url)?.[1];
  assert.ok(code, `a code in the link's fragment: ${url}`);
  return code;
}

function exchange(h: Harness, code: string): Promise<Reply> {
  return new Client(h.app).post('/v1/embed/exchange', { code });
}

/** An embedded session's browser: the token from the exchange, sent as Bearer, no cookie, no CSRF. */
async function embedded(
  h: Harness,
  backend: ServiceClient,
  workspaceId: string,
  capabilities: readonly Capability[] = CAPABILITIES,
  fields: Record<string, unknown> = {},
): Promise<Client & { token: string; session: Reply['body'] }> {
  const link = await mint(backend, workspaceId, { capabilities, ...fields });
  assert.equal(link.status, 201, link.raw);
  const opened = await exchange(h, codeOf(link.body.url));
  assert.equal(opened.status, 200, opened.raw);
  const client = new Client(h.app) as Client & { token: string; session: Reply['body'] };
  client.bearer = opened.body.token;
  client.token = opened.body.token;
  client.session = opened.body.session;
  return client;
}

describeEachBackend(
  'embedded key management sessions',
  (harness) => {
    it('mints a 5-minute single-use link whose code is in the fragment, and opens it once as a session bound to the workspace, user and capabilities', async () => {
      const h = harness();
      const { backend, workspaceId } = await customer(h);
      const link = await mint(backend, workspaceId, { capabilities: ['keys:read', 'usage:read'], return_url: `${HOST_ORIGIN}/settings/api` });
      assert.equal(link.status, 201, link.raw);
      assert.equal(link.body.object, 'embed_link');
      assert.match(link.body.url, /^http:\/\/localhost(:\d+)?\/embed#code=[A-Za-z0-9_-]{43}$/, 'the request’s own host, the code in the fragment');
      const minutes = (Date.parse(link.body.expires_at) - h.clock.now.getTime()) / 60_000;
      assert.ok(minutes > 4.9 && minutes <= 5, `valid for 5 minutes, got ${minutes}`);
      assert.deepEqual(link.body.capabilities, ['keys:read', 'usage:read']);

      const opened = await exchange(h, codeOf(link.body.url));
      assert.equal(opened.status, 200, opened.raw);
      assert.match(opened.body.token, /^inv_ems_[0-9A-Za-z]{36}$/);
      const session = opened.body.session;
      assert.equal(session.workspace.id, workspaceId);
      assert.equal(session.workspace.name, 'Northwind');
      assert.deepEqual(session.user, EXAMPLE_USER);
      assert.deepEqual(session.capabilities, ['keys:read', 'usage:read']);
      assert.equal(session.return_url, `${HOST_ORIGIN}/settings/api`);
      assert.deepEqual(session.product, { name: 'Invoicely', accent_color: '#0f766e' });
      const hours = (Date.parse(session.expires_at) - h.clock.now.getTime()) / 3_600_000;
      assert.ok(hours > 0.99 && hours <= 1, `a session lasts an hour by default, got ${hours}`);

      const again = await new Client(h.app).request('GET', '/v1/embed/session', undefined, { authorization: `Bearer ${opened.body.token}` });
      assert.equal(again.status, 200, again.raw);
      assert.deepEqual(again.body, session);
    });

    it('refuses a second use of a link (410 embed_link_used), records it, and ends the session the first use opened', async () => {
      const h = harness();
      const { backend, workspaceId } = await customer(h);
      const link = await mint(backend, workspaceId);
      const code = codeOf(link.body.url);
      const first = await exchange(h, code);
      assert.equal(first.status, 200);
      const second = await exchange(h, code);
      assert.equal(second.status, 410, second.raw);
      assert.equal(second.body.error.code, 'embed_link_used');
      assert.match(second.body.error.message, /already used/);
      assert.equal(second.body.error.return_url, undefined, 'minted without return_url');
      const ended = await new Client(h.app).request('GET', '/v1/embed/session', undefined, { authorization: `Bearer ${first.body.token}` });
      assert.equal(ended.status, 401);
      assert.equal(ended.body.error.code, 'embed_session_invalid');
      assert.match(String(ended.headers['www-authenticate']), /^Bearer /);
      const log = await backend.get(`/v1/workspaces/${workspaceId}/management-events`);
      const actions = log.body.data.map((event: { action: string }) => event.action);
      assert.deepEqual(actions.slice(0, 3), ['embed.link_reused', 'embed.session_started', 'embed.link_created']);
      assert.equal(log.body.data[0].target.id, link.body.id);
    });

    it('lets exactly one of two simultaneous exchanges of a link win', async () => {
      const h = harness();
      const { backend, workspaceId } = await customer(h);
      for (let round = 0; round < 5; round++) {
        const code = codeOf((await mint(backend, workspaceId)).body.url);
        const answers = await Promise.all([exchange(h, code), exchange(h, code), exchange(h, code)]);
        assert.deepEqual(answers.map((a) => a.status).sort(), [200, 410, 410], answers.map((a) => a.raw).join('\n'));
      }
    });

    it('refuses an expired link (410 embed_link_expired) and an unknown one (404 embed_link_not_found)', async () => {
      const h = harness();
      const { backend, workspaceId } = await customer(h);
      const fresh = codeOf((await mint(backend, workspaceId)).body.url);
      const stale = codeOf((await mint(backend, workspaceId, { return_url: `${HOST_ORIGIN}/settings` })).body.url);
      h.clock.advance(299);
      assert.equal((await exchange(h, fresh)).status, 200, 'still valid just before 5 minutes');
      h.clock.advance(2);
      const expired = await exchange(h, stale);
      assert.equal(expired.status, 410);
      assert.equal(expired.body.error.code, 'embed_link_expired');
      assert.match(expired.body.error.message, /expired/);
      assert.equal(expired.body.error.return_url, `${HOST_ORIGIN}/settings`, 'the page can still lead back');
      for (const code of ['x'.repeat(43), '', 'not a code', `${fresh.startsWith('A') ? 'B' : 'A'}${fresh.slice(1)}`]) {
        const unknown = await exchange(h, code);
        assert.equal(unknown.status, 404, `${code}: ${unknown.raw}`);
        assert.equal(unknown.body.error.code, 'embed_link_not_found');
      }
      assert.equal((await exchange(h, 'x'.repeat(101))).status, 400, 'an overlong code is a malformed body');
    });

    it('ends a session at its lifetime (default 1 h, at most 8 h) and when the service key that minted it is revoked', async () => {
      const h = harness();
      const { backend, workspaceId, keys } = await customer(h);
      const short = await embedded(h, backend, workspaceId);
      const long = await embedded(h, backend, workspaceId, CAPABILITIES, { session_ttl_seconds: 8 * 3600 });
      assert.equal((await short.get(keys)).status, 200);
      h.clock.advance(3600);
      const expired = await short.get(keys);
      assert.equal(expired.status, 401);
      assert.equal(expired.body.error.code, 'embed_session_invalid');
      assert.equal((await long.get(keys)).status, 200, 'an 8-hour session still works after one');

      assert.equal((await mint(backend, workspaceId, { session_ttl_seconds: 8 * 3600 + 1 })).status, 400);
      assert.equal((await mint(backend, workspaceId, { session_ttl_seconds: 299 })).status, 400);

      const unopened = codeOf((await mint(backend, workspaceId)).body.url);
      await createServiceKeys({ db: h.db, keyPrefix: h.config.keyPrefix }).revoke(backend.serviceKeyId);
      const late = await exchange(h, unopened);
      assert.equal(late.status, 410, 'a link of a revoked service key no longer opens');
      assert.equal(late.body.error.code, 'embed_link_expired');
      const revoked = await long.get(keys);
      assert.equal(revoked.status, 401, 'a revoked service key ends the sessions it minted');
      assert.equal(revoked.body.error.code, 'embed_session_invalid');
    });

    it('answers every management route as the route table says: its capability opens it, without it 403 naming the capability, others refused', async () => {
      const h = harness();
      const doc = (await h.app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { 'x-embed-capability'?: string | null }>> };
      for (const [method, path, , embed] of MANAGEMENT_ROUTES) {
        const declared = doc.paths[path]?.[method.toLowerCase()]?.['x-embed-capability'];
        assert.equal(declared, embed, `${routeName(method, path)}: the app declares ${String(declared)}, the table ${String(embed)}`);
      }

      const { backend, workspaceId } = await customer(h);
      const owner = await newTenant(h);
      const made = (await backend.post(`/v1/workspaces/${workspaceId}/api-keys`, { name: 'one', scopes: ['invoices:read'] })).body;
      const ids = { workspace_id: workspaceId, key_id: made.id, secret_id: made.secrets[0].id, user_id: owner.userId, event_id: newId('evt'), invitation_id: newId('inv'), anomaly_id: newId('anf'), token: 'x'.repeat(43) };
      const everything = await embedded(h, backend, workspaceId);
      const readOnly = await embedded(h, backend, workspaceId, ['keys:read']);
      // The table's bodies are the reference product's; this product's catalog has invoices.
      const body = (method: string, path: string) =>
        path === '/v1/workspaces/{workspace_id}/api-keys' && method === 'POST' ? { name: 'from-the-frame', scopes: ['invoices:read'] } : bodyFor(method, path, ids);
      // Rotating before revoking a secret, and revoking the key last: the table's order.
      for (const [method, path, , embed] of MANAGEMENT_ROUTES) {
        const name = routeName(method, path);
        const url = urlOf(path, ids);
        if (embed === undefined) {
          const refused = await everything.request(method as 'GET', url, body(method, path));
          assert.equal(refused.status, 403, `${name}: ${refused.raw}`);
          assert.equal(refused.body.error.code, 'insufficient_permission', name);
          continue;
        }
        if (embed !== null && embed !== 'keys:read') {
          const refused = await readOnly.request(method as 'GET', url, body(method, path));
          assert.equal(refused.status, 403, `${name} without ${embed}: ${refused.raw}`);
          assert.equal(refused.body.error.param, embed, name);
          assert.ok(refused.body.error.message.includes(embed), `${name}: the message names ${embed}`);
        }
        const allowed = await embedded(h, backend, workspaceId, embed === null || embed === 'keys:read' ? ['keys:read'] : ['keys:read', embed]);
        const reply = await allowed.request(method as 'GET', url, body(method, path));
        const expected = name === 'POST /v1/workspaces/{workspace_id}/api-keys' ? 201 : name.endsWith('/audit-events/{event_id}') ? 404 : 200;
        assert.equal(reply.status, expected, `${name} with ${embed ?? 'any capability'}: ${reply.raw.slice(0, 300)}`);
      }
    });

    it('reaches its own workspace only: another workspace and another workspace’s key are unknown (404)', async () => {
      const h = harness();
      const { backend, workspaceId } = await customer(h);
      const other = await customer(h);
      const theirKey = (await other.backend.post(other.keys, { name: 'theirs', scopes: ['invoices:read'] })).body;
      const session = await embedded(h, backend, workspaceId);
      assert.equal((await session.get(other.keys)).status, 404);
      assert.equal((await session.get(`${other.keys}/${theirKey.id}`)).status, 404);
      assert.equal((await session.get(`/v1/workspaces/${workspaceId}/api-keys/${theirKey.id}`)).status, 404);
      assert.equal((await session.delete(`${other.keys}/${theirKey.id}`)).status, 404);
      assert.equal((await other.backend.get(`${other.keys}/${theirKey.id}`)).body.status, 'active');
    });

    it('never gives a session more than the service key can do, nor a workspace outside its limit', async () => {
      const h = harness();
      const { backend, workspaceId } = await customer(h);
      const readsKeys = await serviceClient(h, ['embed:create', 'keys:read']);
      const refused = await mint(readsKeys, workspaceId, { capabilities: ['keys:read', 'usage:read'] });
      assert.equal(refused.status, 403, refused.raw);
      assert.equal(refused.body.error.code, 'insufficient_permission');
      assert.equal(refused.body.error.param, 'capabilities');
      assert.match(refused.body.error.message, /audit:read.*usage:read/);
      assert.equal((await mint(readsKeys, workspaceId, { capabilities: ['keys:read'] })).status, 201);

      const limited = await serviceClient(h, PERMISSIONS, [workspaceId]);
      const other = await customer(h);
      const outside = await mint(limited, other.workspaceId);
      assert.equal(outside.status, 404);
      assert.equal(outside.body.error.code, 'not_found');
      assert.equal((await mint(backend, 'ws_01m8xwz301dtqnx5tya33231bq')).status, 404, 'an unknown workspace');

      const noEmbed = await serviceClient(h, PERMISSIONS.filter((p) => p !== 'embed:create'));
      const withoutPermission = await mint(noEmbed, workspaceId);
      assert.equal(withoutPermission.status, 403);
      assert.equal(withoutPermission.body.error.param, 'embed:create');

      const person = await newTenant(h);
      const bySession = await person.client.post('/v1/embed/sessions', { workspace_id: person.workspaceId, user: EXAMPLE_USER, capabilities: ['keys:read'] });
      assert.equal(bySession.status, 401, 'a person’s session cannot mint: the SaaS backend does');
    });

    it('refuses malformed mint requests with the field named', async () => {
      const h = harness();
      const { backend, workspaceId } = await customer(h);
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ capabilities: [] }, 'capabilities'],
        [{ capabilities: ['keys:write'] }, 'capabilities'],
        [{ capabilities: ['keys:read', 'keys:read'] }, 'capabilities'],
        [{ capabilities: ['keys:read', 'members:write'] }, 'capabilities.1'],
        [{ user: { email: 'ada@northwind.example' } }, 'user.external_id'],
        [{ user: { external_id: '' } }, 'user.external_id'],
        [{ user: { external_id: 'u\n1' } }, 'user.external_id'],
        [{ user: { external_id: 'u-1', email: 'not an email' } }, 'user.email'],
        [{ user: { external_id: 'u-1', admin: true } }, 'user.admin'],
        [{ return_url: 'javascript:alert(1)' }, 'return_url'],
        [{ return_url: 'not a url' }, 'return_url'],
        [{ session_ttl_seconds: 1.5 }, 'session_ttl_seconds'],
        [{ extra: 1 }, ''],
      ];
      for (const [fields, param] of cases) {
        const reply = await mint(backend, workspaceId, fields);
        assert.equal(reply.status, 400, `${JSON.stringify(fields)}: ${reply.raw}`);
        assert.equal(reply.body.error.code, 'invalid_request');
        if (param) assert.equal(reply.body.error.param, param, JSON.stringify(fields));
      }
    });

    it('records what an embedded session does with the SaaS’s user as actor, through the service key', async () => {
      const h = harness();
      const { backend, workspaceId, keys } = await customer(h);
      const session = await embedded(h, backend, workspaceId);
      const created = await session.post(keys, { name: 'from-the-frame', scopes: ['invoices:read'] });
      assert.equal(created.status, 201, created.raw);
      assert.deepEqual(created.body.created_by, { type: 'external_user', id: backend.serviceKeyId, name: 'saas-backend', external_id: 'u-42', email: 'ada@northwind.example' });
      assert.equal((await session.post(`${keys}/${created.body.id}/rotate`)).status, 200);
      assert.equal((await session.delete(`${keys}/${created.body.id}`)).status, 200);
      const log = await backend.get(`/v1/workspaces/${workspaceId}/management-events`);
      const [revoked, rotated, create] = log.body.data;
      for (const event of [revoked, rotated, create]) {
        assert.deepEqual(event.actor, { type: 'external_user', external_id: 'u-42', email: 'ada@northwind.example', service_key_id: backend.serviceKeyId });
        assert.equal(event.details.embed_session_id, session.session.id);
        assert.equal(event.on_behalf_of, null);
      }
      assert.deepEqual([revoked.action, rotated.action, create.action], ['api_key.revoke', 'api_key.rotate', 'api_key.create']);
    });

    it('keeps only hashes of the code and the token: neither is in the database or the logs', async () => {
      const h = harness();
      const { backend, workspaceId, keys } = await customer(h);
      const link = await mint(backend, workspaceId);
      const code = codeOf(link.body.url);
      const opened = await exchange(h, code);
      const session = new Client(h.app);
      session.bearer = opened.body.token;
      await session.get(keys);
      await exchange(h, code);
      const dump = JSON.stringify([
        await h.db.selectFrom('embed_sessions').selectAll().execute(),
        await h.db.selectFrom('management_events').selectAll().where('workspace_id', '=', workspaceId).execute(),
        (await sql<{ t: string }>`select string_agg(row_to_json(a)::text, ',') as t from audit_events a`.execute(h.db)).rows,
      ]);
      assert.ok(!dump.includes(code), 'the code is stored as a hash only');
      assert.ok(!dump.includes(opened.body.token), 'the token is stored as a hash only');
      assert.ok(!dump.includes(opened.body.token.slice(8, 30)));
      const logs = h.logs.join('');
      assert.ok(!logs.includes(code) && !logs.includes(opened.body.token), 'nothing in the logs');
    });

    it('serves /embed framed by the product file’s allowed origins only; every other console page is never framed', async () => {
      const h = harness();
      for (const url of ['/embed', '/embed/keys', '/embed/keys/key_1/usage']) {
        const page = await h.app.inject({ url });
        assert.equal(page.statusCode, 200, url);
        const csp = String(page.headers['content-security-policy']);
        assert.match(csp, /frame-ancestors 'self' https:\/\/app\.northwind\.example http:\/\/localhost:3000(;|$)/, url);
        assert.equal(page.headers['x-frame-options'], undefined, `${url}: X-Frame-Options cannot name origins`);
      }
      for (const url of ['/', '/keys', '/embedded', '/audit']) {
        const page = await h.app.inject({ url });
        assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/, url);
        assert.equal(page.headers['x-frame-options'], 'DENY', url);
      }
    });

    it('ignores a console cookie beside an embedded session token: the session decides', async () => {
      const h = harness();
      const owner = await newTenant(h);
      const { backend, workspaceId } = await customer(h);
      const session = await embedded(h, backend, workspaceId);
      session.cookie = owner.client.cookie;
      session.csrf = owner.client.csrf;
      const refused = await session.post(owner.keys, { name: 'x', scopes: ['invoices:read'] });
      assert.equal(refused.status, 404, 'the owner’s cookie lends the session nothing, not even their workspace');
      const made = await createKey(owner, { scopes: ['invoices:read'] });
      assert.equal(made.status, 201);
    });
  },
  { env: { PRODUCT_FILE: productFile } },
);

describeEachBackend(
  'embedded links behind PUBLIC_URL',
  (harness) => {
    it('builds the link on PUBLIC_URL, where browsers reach Latchkey, not on the backend’s own address', async () => {
      const h = harness();
      const { backend, workspaceId } = await customer(h);
      const link = await mint(backend, workspaceId);
      assert.match(link.body.url, /^https:\/\/keys\.example\.com\/embed#code=[A-Za-z0-9_-]{43}$/);
    });
  },
  { env: { PRODUCT_FILE: productFile, PUBLIC_URL: 'https://keys.example.com/' } },
);
