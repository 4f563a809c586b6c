import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { RESOURCES, apiRoutes } from '../src/api/api-routes.js';
import { seedDemoData } from '../src/api/demo-data.js';
import { createEndpointsRepo } from '../src/events/endpoints-repo.js';
import { createEndpointsService } from '../src/events/endpoints-service.js';
import type { Principal } from '../src/auth/principal.js';
import { openDatabase, type Db } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { Mode } from '../src/db/schema.js';
import { installErrorHandling } from '../src/http/error-handler.js';
import { newId } from '../src/ids.js';
import { PRODUCT_ROUTES } from './product-routes.js';
import { createTestDatabase, describeOrSkip, postgresSkipReason } from './services.js';

/**
 * The reference product API on its own: a small app whose test-only hook sets the principal from headers
 * (the real API-key hook is tested with it elsewhere). Each test makes its own workspaces.
 */

interface Ctx {
  app: FastifyInstance;
  db: Db;
  registered: Array<{ method: string; url: string; scope: unknown; summary: unknown; tags: unknown }>;
  close(): Promise<void>;
}

async function start(backend: 'pglite' | 'postgres'): Promise<Ctx> {
  const database = backend === 'postgres' ? await createTestDatabase() : null;
  const { db } = openDatabase(database ? { databaseUrl: database.url, poolSize: 4 } : { dataDir: 'memory://' });
  await migrateToLatest(db);
  const app = Fastify({ bodyLimit: 64 * 1024 });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  const registered: Ctx['registered'] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD') continue;
      const schema = route.schema as { summary?: unknown; tags?: unknown } | undefined;
      registered.push({ method, url: route.url, scope: route.config?.scope, summary: schema?.summary, tags: schema?.tags });
    }
  });
  app.decorateRequest('principal', null);
  // Stands in for the API-key hook: the caller's workspace and mode come from test headers.
  app.addHook('onRequest', async (request) => {
    const workspaceId = request.headers['x-test-workspace'];
    if (typeof workspaceId !== 'string') return;
    const principal: Principal = {
      workspaceId,
      mode: request.headers['x-test-mode'] === 'test' ? 'test' : 'live',
      keyId: 'key_test',
      keyName: 'test',
      secretId: 'sec_test',
      secretVersion: 1,
      scopes: new Set(),
      meta: {},
      workspaceExternalId: null,
      keyExpiresAt: null,
      secretPrefix: 'lk_live_test…',
    };
    request.principal = principal;
  });
  const now = () => new Date();
  await app.register(apiRoutes, { db, now, endpoints: createEndpointsService({ db, repo: createEndpointsRepo(), now, allowPrivateNetworks: false }) });
  await app.ready();
  return {
    app,
    db,
    registered,
    async close() {
      await app.close();
      await db.destroy();
      await database?.drop();
    },
  };
}

async function newWorkspace(db: Db): Promise<string> {
  const id = newId('ws');
  await db.insertInto('workspaces').values({ id, name: 'Acme', ceiling_per_minute: 1000, ceiling_per_hour: 60000 }).execute();
  return id;
}

interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
}

/** A caller of one view of one workspace. */
function caller(ctx: () => Ctx, workspaceId: string, mode: Mode = 'live') {
  async function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<Reply> {
    const response = await ctx().app.inject({
      method,
      url,
      headers: { 'x-test-workspace': workspaceId, 'x-test-mode': mode, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : null };
  }
  return {
    get: (url: string) => call('GET', url),
    post: (url: string, body: unknown) => call('POST', url, body),
    patch: (url: string, body: unknown) => call('PATCH', url, body),
    delete: (url: string) => call('DELETE', url),
  };
}

type Caller = ReturnType<typeof caller>;

function assertError(reply: Reply, status: number, code: string, param?: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.error.code, code);
  if (param !== undefined) assert.equal(reply.body.error.param, param);
}

/** The writable resources with full CRUD: a create body, a change, and the field that shows it. */
const CRUD = [
  { path: 'webhooks', object: 'webhook_endpoint', create: { url: 'https://example.com/hook', events: ['ticket.created'] }, update: { enabled: false }, field: 'enabled' },
  { path: 'knowledge_base', object: 'knowledge_base_entry', create: { title: 'Reset a password', body: 'Settings → Security.' }, update: { status: 'published' }, field: 'status' },
  { path: 'accounts', object: 'account', create: { name: 'Northwind', domain: 'northwind.example' }, update: { plan: 'enterprise' }, field: 'plan' },
  { path: 'policies', object: 'policy', create: { name: 'Refunds', body: 'Up to $500 without approval.' }, update: { enabled: false }, field: 'enabled' },
] as const;

const TRANSCRIPT = {
  channel: 'chat',
  subject: 'Charged twice',
  participants: [
    { id: 'c', role: 'customer', name: 'Ada' },
    { id: 'a', role: 'agent', name: 'Sam' },
  ],
  messages: [
    { participant: 'c', text: 'I was charged twice.', sent_at: '2025-03-01T10:00:00Z' },
    { participant: 'a', text: 'Refunded the duplicate.', sent_at: '2025-03-01T10:01:00+00:00' },
    { participant: 'c', text: 'Thanks!', sent_at: '2025-03-01T10:02:00Z' },
  ],
  metadata: { source: 'test' },
};

for (const backend of ['pglite', 'postgres'] as const) {
  const skip = backend === 'postgres' && postgresSkipReason ? postgresSkipReason : false;
  describeOrSkip(`product API [${backend}]`, { skip }, () => {
    let current: Ctx | undefined;
    const ctx = () => {
      if (!current) throw new Error('not started');
      return current;
    };
    before(async () => {
      current = await start(backend);
    });
    after(async () => {
      await current?.close();
    });
    const live = async (): Promise<{ workspaceId: string; api: Caller }> => {
      const workspaceId = await newWorkspace(ctx().db);
      return { workspaceId, api: caller(ctx, workspaceId, 'live') };
    };

    it('registers exactly the resource routes of PRODUCT.md, each with its scope, a summary and tags', () => {
      const seen = ctx().registered.map((r) => `${r.method} ${r.url} ${String(r.scope)}`).sort();
      // From PRODUCT.md's table, not from API_ROUTES (which the plugin registers from): the calling key's
      // own routes live in another plugin.
      const expected = PRODUCT_ROUTES.filter((r) => !r.path.startsWith('/api/v1/api_keys/') && r.path !== '/api/v1/ping')
        .map((r) => `${r.method} ${r.path.replace('{id}', ':id')} ${r.scope}`).sort();
      assert.deepEqual(seen, expected);
      for (const route of ctx().registered) {
        assert.equal(typeof route.summary, 'string', route.url);
        assert.ok(Array.isArray(route.tags), route.url);
      }
      assert.equal(RESOURCES.length, 9);
    });

    for (const resource of CRUD) {
      it(`${resource.path}: create, get, list, update, delete`, async () => {
        const { api } = await live();
        const base = `/api/v1/${resource.path}`;
        const created = await api.post(base, resource.create);
        assert.equal(created.status, 201, JSON.stringify(created.body));
        assert.equal(created.body.object, resource.object);
        assert.match(created.body.id, /^[a-z]+_[0-9a-z]{26}$/);
        assert.ok(Date.parse(created.body.created_at));
        for (const [field, value] of Object.entries(resource.create)) assert.deepEqual(created.body[field], value);
        // A webhook's signing secret is in its create answer only.
        const { secret, ...shown } = created.body;
        if (resource.path === 'webhooks') assert.match(secret, /^whsec_/);
        else assert.equal(secret, undefined);

        const got = await api.get(`${base}/${created.body.id}`);
        assert.equal(got.status, 200);
        assert.deepEqual(got.body, shown);

        const list = await api.get(base);
        assert.equal(list.status, 200);
        assert.deepEqual(list.body, { object: 'list', data: [shown], has_more: false, next_cursor: null });

        const updated = await api.patch(`${base}/${created.body.id}`, resource.update);
        assert.equal(updated.status, 200, JSON.stringify(updated.body));
        assert.deepEqual(updated.body[resource.field], resource.update[resource.field as keyof typeof resource.update]);
        for (const [field, value] of Object.entries(resource.create)) assert.deepEqual(updated.body[field], value, 'a PATCH keeps what it does not name');

        const deleted = await api.delete(`${base}/${created.body.id}`);
        assert.deepEqual(deleted.body, { id: created.body.id, object: resource.object, deleted: true });
        assertError(await api.get(`${base}/${created.body.id}`), 404, 'not_found');
        assertError(await api.delete(`${base}/${created.body.id}`), 404, 'not_found');
        assert.deepEqual((await api.get(base)).body.data, []);
      });
    }

    it('tickets: create with defaults, get, list, update; references must be in the view', async () => {
      const { api } = await live();
      const contact = await api.post('/api/v1/contacts', { email: 'ada@example.com' });
      const created = await api.post('/api/v1/tickets', { subject: 'Refund', contact_id: contact.body.id, tags: ['billing'] });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.object, 'ticket');
      assert.equal(created.body.status, 'open');
      assert.equal(created.body.priority, 'normal');
      assert.equal(created.body.description, null);
      assert.deepEqual(created.body.metadata, {});
      assert.equal((await api.get(`/api/v1/tickets/${created.body.id}`)).body.subject, 'Refund');
      assert.equal((await api.get('/api/v1/tickets')).body.data.length, 1);

      const updated = await api.patch(`/api/v1/tickets/${created.body.id}`, { status: 'solved', description: 'Done.' });
      assert.equal(updated.body.status, 'solved');
      assert.equal(updated.body.subject, 'Refund');
      assert.ok(updated.body.updated_at >= created.body.updated_at);
      const cleared = await api.patch(`/api/v1/tickets/${created.body.id}`, { description: null });
      assert.equal(cleared.body.description, null);

      assertError(await api.post('/api/v1/tickets', { subject: 'x', contact_id: 'cont_nope' }), 400, 'invalid_request', 'contact_id');
      assertError(await api.patch(`/api/v1/tickets/${created.body.id}`, { assignee_agent_id: 'agt_nope' }), 400, 'invalid_request', 'assignee_agent_id');
      // Tickets are not deleted through the API: there is no such route.
      assertError(await api.delete(`/api/v1/tickets/${created.body.id}`), 404, 'not_found');
    });

    it('refuses bad input with 400 invalid_request naming the field', async () => {
      const { api } = await live();
      assertError(await api.post('/api/v1/accounts', { name: 'x', color: 'red' }), 400, 'invalid_request', 'color');
      assertError(await api.post('/api/v1/accounts', { name: 'x'.repeat(201) }), 400, 'invalid_request', 'name');
      assertError(await api.post('/api/v1/accounts', {}), 400, 'invalid_request', 'name');
      assertError(await api.post('/api/v1/webhooks', { url: 'ftp://example.com', events: ['ticket.created'] }), 400, 'invalid_request', 'url');
      assertError(await api.post('/api/v1/webhooks', { url: 'https://example.com', events: ['nope'] }), 400, 'invalid_request');
      assertError(await api.post('/api/v1/webhooks', { url: 'https://example.com', events: [] }), 400, 'invalid_request', 'events');
      assertError(await api.post('/api/v1/tickets', { subject: 'x', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }), 400, 'invalid_request', 'tags');
      const metadata = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
      assertError(await api.post('/api/v1/policies', { name: 'x', body: 'y', metadata }), 400, 'invalid_request', 'metadata');
      assertError(await api.post('/api/v1/policies', { name: 'x', body: 'y', metadata: { k: 'v'.repeat(501) } }), 400, 'invalid_request');
      assertError(await api.get('/api/v1/accounts/not-an-id'), 404, 'not_found');
      // PostgreSQL refuses NUL in text and jsonb: it must be a 400 here, never a 500 from the database.
      assertError(await api.post('/api/v1/accounts', { name: 'a\u0000b' }), 400, 'invalid_request', 'name');
      assertError(await api.post('/api/v1/policies', { name: 'x', body: 'y', metadata: { k: 'a\u0000' } }), 400, 'invalid_request');
      assertError(await api.post('/api/v1/tickets', { subject: 'x', contact_id: 'cont_\u0000' }), 400, 'invalid_request', 'contact_id');
      assert.equal((await api.get('/api/v1/accounts/acct_%00')).status < 500, true);
      assert.equal((await api.get('/api/v1/accounts?cursor=%00')).status < 500, true);
      assertError(await api.patch('/api/v1/accounts/acct_nope', { name: 'y' }), 404, 'not_found');
    });

    it('paginates newest first with limit and cursor, and bounds the limit', async () => {
      const { api } = await live();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await api.post('/api/v1/accounts', { name: `Account ${i}` })).body.id);
      const newestFirst = [...ids].reverse();

      const all = await api.get('/api/v1/accounts');
      assert.deepEqual(all.body.data.map((a: { id: string }) => a.id), newestFirst);
      assert.equal(all.body.has_more, false);
      assert.equal(all.body.next_cursor, null);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Reply = await api.get(`/api/v1/accounts?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(page.status, 200);
        assert.ok(page.body.data.length <= 2);
        seen.push(...page.body.data.map((a: { id: string }) => a.id));
        assert.equal(page.body.has_more, page.body.next_cursor !== null);
        if (page.body.has_more) assert.equal(page.body.next_cursor, page.body.data.at(-1).id);
        cursor = page.body.next_cursor;
        pages++;
      } while (cursor);
      assert.equal(pages, 3);
      assert.deepEqual(seen, newestFirst);

      assert.deepEqual((await api.get('/api/v1/accounts?limit=5')).body.has_more, false);
      assertError(await api.get('/api/v1/accounts?limit=0'), 400, 'invalid_request', 'limit');
      assertError(await api.get('/api/v1/accounts?limit=101'), 400, 'invalid_request', 'limit');
      assertError(await api.get('/api/v1/accounts?limit=two'), 400, 'invalid_request', 'limit');
      assertError(await api.get(`/api/v1/accounts?cursor=${'x'.repeat(65)}`), 400, 'invalid_request', 'cursor');
      assert.equal((await api.get('/api/v1/accounts?limit=100')).status, 200);
    });

    it('contacts: upsert by email (case-insensitive) and by external_id, 201 then 200 with the same id', async () => {
      const { api } = await live();
      const created = await api.post('/api/v1/contacts', { email: 'Ada@Example.com', name: 'Ada' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.object, 'contact');
      assert.equal(created.body.email, 'ada@example.com');
      assert.equal(created.body.external_id, null);

      const again = await api.post('/api/v1/contacts', { email: 'ada@example.com', phone: '+1 555 0100' });
      assert.equal(again.status, 200);
      assert.equal(again.body.id, created.body.id);
      assert.equal(again.body.name, 'Ada', 'an upsert keeps the fields it does not name');
      assert.equal(again.body.phone, '+1 555 0100');

      const byExternal = await api.post('/api/v1/contacts', { external_id: 'crm_1', name: 'Grace' });
      assert.equal(byExternal.status, 201);
      const byExternalAgain = await api.post('/api/v1/contacts', { external_id: 'crm_1', email: 'grace@example.com' });
      assert.equal(byExternalAgain.status, 200);
      assert.equal(byExternalAgain.body.id, byExternal.body.id);
      assert.equal(byExternalAgain.body.email, 'grace@example.com');
      // Now found by the email it was given.
      assert.equal((await api.post('/api/v1/contacts', { email: 'grace@example.com' })).body.id, byExternal.body.id);

      assertError(await api.post('/api/v1/contacts', { email: 'ada@example.com', external_id: 'crm_1' }), 409, 'conflict');
      assertError(await api.post('/api/v1/contacts', { name: 'Nobody' }), 400, 'invalid_request', 'email');
      assertError(await api.post('/api/v1/contacts', { email: 'not-an-email' }), 400, 'invalid_request', 'email');
      assertError(await api.post('/api/v1/contacts', { email: 'x@example.com', account_id: 'acct_nope' }), 400, 'invalid_request', 'account_id');

      const list = await api.get('/api/v1/contacts');
      assert.equal(list.body.data.length, 2);
      assert.equal((await api.get(`/api/v1/contacts/${created.body.id}`)).body.phone, '+1 555 0100');
    });

    it('conversations: ingest a transcript, then read it and its traces', async () => {
      const { api } = await live();
      const created = await api.post('/api/v1/conversations', TRANSCRIPT);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const conversation = created.body;
      assert.equal(conversation.object, 'conversation');
      assert.match(conversation.id, /^conv_/);
      assert.equal(conversation.message_count, 3);
      assert.equal(conversation.started_at, '2025-03-01T10:00:00.000Z');
      assert.equal(conversation.ended_at, '2025-03-01T10:02:00.000Z');
      assert.equal(conversation.channel, 'chat');
      assert.deepEqual(conversation.metadata, { source: 'test' });
      assert.deepEqual((await api.get(`/api/v1/conversations/${conversation.id}`)).body, conversation);
      assert.deepEqual((await api.get('/api/v1/conversations')).body.data, [conversation]);

      const traces = await api.get(`/api/v1/conversations/${conversation.id}/traces`);
      assert.equal(traces.status, 200);
      assert.equal(traces.body.object, 'list');
      assert.deepEqual(traces.body.data.map((t: { sequence: number }) => t.sequence), [3, 2, 1], 'newest first');
      const first = traces.body.data[2];
      assert.equal(first.object, 'trace');
      assert.match(first.id, /^trc_/);
      assert.equal(first.conversation_id, conversation.id);
      assert.equal(first.text, 'I was charged twice.');
      assert.deepEqual(first.participant, { id: 'c', role: 'customer', name: 'Ada' });
      const paged = await api.get(`/api/v1/conversations/${conversation.id}/traces?limit=2`);
      assert.equal(paged.body.has_more, true);
      const rest = await api.get(`/api/v1/conversations/${conversation.id}/traces?limit=2&cursor=${paged.body.next_cursor}`);
      assert.deepEqual(rest.body.data.map((t: { sequence: number }) => t.sequence), [1]);

      assertError(await api.get('/api/v1/conversations/conv_nope/traces'), 404, 'not_found');
      const stranger = { ...TRANSCRIPT, messages: [{ participant: 'x', text: 'hi', sent_at: '2025-03-01T10:00:00Z' }] };
      assertError(await api.post('/api/v1/conversations', stranger), 400, 'invalid_request', 'messages.0.participant');
      assertError(await api.post('/api/v1/conversations', { ...TRANSCRIPT, messages: [] }), 400, 'invalid_request', 'messages');
      const badRef = { ...TRANSCRIPT, participants: [{ id: 'c', role: 'customer', contact_id: 'cont_nope' }, { id: 'a', role: 'agent' }] };
      assertError(await api.post('/api/v1/conversations', badRef), 400, 'invalid_request', 'participants.0.contact_id');
      assertError(await api.post('/api/v1/conversations', { ...TRANSCRIPT, messages: [{ participant: 'c', text: 'hi', sent_at: 'yesterday' }] }), 400, 'invalid_request');
    });

    it('keeps the test and live views and other workspaces apart (404, empty lists)', async () => {
      const { workspaceId, api } = await live();
      const testView = caller(ctx, workspaceId, 'test');
      const other = caller(ctx, await newWorkspace(ctx().db), 'live');
      const account = (await api.post('/api/v1/accounts', { name: 'Live only' })).body;
      const conversation = (await api.post('/api/v1/conversations', TRANSCRIPT)).body;
      const contact = (await api.post('/api/v1/contacts', { email: 'shared@example.com' })).body;

      for (const outsider of [testView, other]) {
        assertError(await outsider.get(`/api/v1/accounts/${account.id}`), 404, 'not_found');
        assertError(await outsider.patch(`/api/v1/accounts/${account.id}`, { name: 'Taken' }), 404, 'not_found');
        assertError(await outsider.delete(`/api/v1/accounts/${account.id}`), 404, 'not_found');
        assertError(await outsider.get(`/api/v1/conversations/${conversation.id}`), 404, 'not_found');
        assertError(await outsider.get(`/api/v1/conversations/${conversation.id}/traces`), 404, 'not_found');
        assertError(await outsider.post('/api/v1/tickets', { subject: 'x', contact_id: contact.id }), 400, 'invalid_request', 'contact_id');
        assert.deepEqual((await outsider.get('/api/v1/accounts')).body.data, []);
        assert.deepEqual((await outsider.get('/api/v1/conversations')).body.data, []);
        // The same email is a different contact in another view.
        const theirs = await outsider.post('/api/v1/contacts', { email: 'shared@example.com' });
        assert.equal(theirs.status, 201);
        assert.notEqual(theirs.body.id, contact.id);
      }
      assert.equal((await api.get(`/api/v1/accounts/${account.id}`)).body.name, 'Live only');
      assert.equal((await api.get('/api/v1/contacts')).body.data.length, 1);
    });

    it('demo data fills both views with every resource, and a second run adds nothing', async () => {
      const workspaceId = await newWorkspace(ctx().db);
      assert.deepEqual(await seedDemoData(ctx().db, workspaceId, new Date()), { live: true, test: true });
      const counts: Record<string, number> = {};
      for (const mode of ['live', 'test'] as const) {
        const api = caller(ctx, workspaceId, mode);
        for (const resource of RESOURCES) {
          const list = await api.get(`/api/v1/${resource.path}?limit=100`);
          assert.equal(list.status, 200);
          assert.ok(list.body.data.length > 0, `${mode} ${resource.path} is empty`);
          counts[`${mode} ${resource.path}`] = list.body.data.length;
        }
        const conversations = (await api.get('/api/v1/conversations')).body.data;
        const traces = await api.get(`/api/v1/conversations/${conversations[0].id}/traces`);
        assert.ok(traces.body.data.length > 0);
        const ticket = (await api.get('/api/v1/tickets')).body.data[0];
        assert.equal((await api.get(`/api/v1/contacts/${ticket.contact_id}`)).status, 200, 'demo references stay inside the view');
        const scorecard = (await api.get('/api/v1/scorecards')).body.data[0];
        assert.equal((await api.get(`/api/v1/conversations/${scorecard.conversation_id}`)).status, 200);
        assert.equal((await api.get(`/api/v1/agents/${scorecard.agent_id}`)).status, 200);
      }
      assert.deepEqual(await seedDemoData(ctx().db, workspaceId, new Date()), { live: false, test: false });
      for (const mode of ['live', 'test'] as const) {
        const api = caller(ctx, workspaceId, mode);
        for (const resource of RESOURCES) {
          assert.equal((await api.get(`/api/v1/${resource.path}?limit=100`)).body.data.length, counts[`${mode} ${resource.path}`]);
        }
      }
    });
  });
}
