import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createLatchkey, type GuardOptions, type Latchkey, type VerifiedKey } from '../packages/sdk/src/index.js';
import { apiCall, atStartOfMinute, createKey, describeEachBackend, newTenant, serviceClient, type Harness, type Reply, type Tenant } from './harness.js';

/**
 * @latchkey/sdk's middleware in the three frameworks, each against a real Latchkey (the app listening on
 * a port, its POST /v1/keys/verify answering): every refusal must look exactly like the one Latchkey's
 * own /api/v1 gives for the same key and scope, and anything that keeps Latchkey from answering is a 503.
 */

/** The routes every adapter serves: one per way a route can ask for scopes. */
const ROUTES: Array<{ method: 'GET' | 'POST'; path: string; guard: GuardOptions }> = [
  { method: 'GET', path: '/things', guard: { scope: 'tickets:read' } },
  { method: 'POST', path: '/things', guard: { scope: ['tickets:read', 'tickets:write'] } },
  { method: 'GET', path: '/bulk', guard: { scope: 'tickets:read', cost: 3 } },
  { method: 'GET', path: '/open', guard: {} },
];

function seen(key: VerifiedKey | undefined) {
  return { key_id: key?.key?.id, workspace_id: key?.workspace?.id, meta: key?.key?.meta ?? null };
}

interface Running {
  url: string;
  close(): Promise<void>;
}

interface Adapter {
  name: string;
  start(latchkey: Latchkey): Promise<Running>;
}

async function listening(server: Server): Promise<Running> {
  if (!server.listening) await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const ADAPTERS: Adapter[] = [
  {
    name: 'Express 5',
    async start(latchkey) {
      const app = express();
      for (const route of ROUTES) {
        const method = route.method === 'GET' ? app.get.bind(app) : app.post.bind(app);
        method(route.path, latchkey.express(route.guard), (req, res) => void res.json(seen(req.latchkey)));
      }
      return listening(app.listen(0, '127.0.0.1'));
    },
  },
  {
    name: 'Fastify 5',
    async start(latchkey) {
      const app = Fastify();
      for (const route of ROUTES) {
        app.route({ method: route.method, url: route.path, onRequest: latchkey.fastify(route.guard), handler: async (request) => seen(request.latchkey) });
      }
      await app.listen({ port: 0, host: '127.0.0.1' });
      return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
    },
  },
  {
    name: 'Hono 4',
    async start(latchkey) {
      const app = new Hono();
      for (const route of ROUTES) {
        const method = route.method === 'GET' ? app.get.bind(app) : app.post.bind(app);
        method(route.path, latchkey.hono(route.guard), (c) => c.json(seen(c.get('latchkey'))));
      }
      return listening(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server);
    },
  },
];

interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  header(name: string): string | null;
}

async function call(url: string, secret: string | null, method: 'GET' | 'POST' = 'GET'): Promise<Answer> {
  const response = await fetch(url, { method, headers: secret === null ? {} : { authorization: `Bearer ${secret}` } });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, header: (name) => response.headers.get(name) };
}

/**
 * The middleware's refusal against Latchkey's own for the same key: status, error type and code, the
 * challenge's form, which rate-limit headers are there, Retry-After; and the body's request id is the
 * Request-Id header, as Latchkey answers.
 */
function assertSameRefusal(sdk: Answer, own: Reply, code: string): void {
  assert.equal(own.status, sdk.status, `Latchkey's own answer: ${own.raw}`);
  assert.equal(own.body.error.code, code);
  assert.deepEqual(Object.keys(sdk.body.error).sort(), ['code', 'message', 'request_id', 'type']);
  assert.equal(sdk.body.error.code, code);
  assert.equal(sdk.body.error.type, own.body.error.type);
  assert.match(sdk.body.error.request_id, /^req_/);
  assert.equal(sdk.header('request-id'), sdk.body.error.request_id);
  const challenge = (value: string | null | undefined) => (value ? value.replace(/error_description="[^"]*"/, 'error_description="…"') : null);
  assert.equal(challenge(sdk.header('www-authenticate')), challenge(own.headers['www-authenticate'] as string | undefined));
  for (const name of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'retry-after']) {
    assert.equal(sdk.header(name) !== null, own.headers[name] !== undefined, `${name} present alike`);
  }
}

describeEachBackend('@latchkey/sdk middleware against a real Latchkey', (harness) => {
  let latchkey: Latchkey;
  const errors: Error[] = [];

  before(async () => {
    const h = harness();
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const service = await serviceClient(h, ['keys:verify']);
    latchkey = createLatchkey({ baseUrl: `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`, serviceKey: service.secret, onError: (e) => errors.push(e) });
  });
  after(() => latchkey.close());

  for (const adapter of ADAPTERS) {
    describe(adapter.name, () => {
      let api: Running;
      let tenant: Tenant;
      before(async () => {
        api = await adapter.start(latchkey);
        tenant = await newTenant(harness());
      });
      after(() => api.close());

      const key = async (fields: Record<string, unknown>) => {
        const reply = await createKey(tenant, fields);
        assert.equal(reply.status, 201, reply.raw);
        return reply.body as { id: string; secret: string };
      };

      it('lets a key with the scope through, exposes the verified key and sets X-RateLimit-*', async () => {
        const h = harness();
        const back = atStartOfMinute(h);
        try {
          const k = await key({ scopes: ['tickets:read'], rate_limit: { per_minute: 50 } });
          const answer = await call(`${api.url}/things`, k.secret);
          assert.equal(answer.status, 200, JSON.stringify(answer.body));
          assert.deepEqual(answer.body, { key_id: k.id, workspace_id: tenant.workspaceId, meta: {} });
          assert.equal(answer.header('x-ratelimit-limit'), '50');
          assert.equal(answer.header('x-ratelimit-remaining'), '49');
          assert.match(answer.header('x-ratelimit-reset') ?? '', /^\d+$/);
          const open = await call(`${api.url}/open`, k.secret);
          assert.equal(open.status, 200, 'a route without a scope takes any valid key');
        } finally {
          back();
        }
        assert.deepEqual(errors, []);
      });

      it('refuses no key as /api/v1 does: 401 missing_api_key with the bare challenge', async () => {
        const h = harness();
        const sdk = await call(`${api.url}/things`, null);
        assertSameRefusal(sdk, await apiCall(h, null, '/api/v1/tickets', { ip: '192.0.2.10' }), 'missing_api_key');
        assert.equal(sdk.header('www-authenticate'), 'Bearer realm="latchkey"');
      });

      it('refuses a made-up key as /api/v1 does: 401 invalid_api_key, invalid_token challenge', async () => {
        const h = harness();
        const fake = `lk_live_${'A'.repeat(40)}`;
        const sdk = await call(`${api.url}/things`, fake);
        assertSameRefusal(sdk, await apiCall(h, fake, '/api/v1/tickets', { ip: '192.0.2.11' }), 'invalid_api_key');
        assert.ok(!JSON.stringify(sdk.body).includes(fake), 'the key is not echoed');
      });

      it('refuses a missing scope as /api/v1 does: 403 insufficient_scope naming it, with rate-limit headers', async () => {
        const h = harness();
        const k = await key({ scopes: ['tickets:read'] });
        const sdk = await call(`${api.url}/things`, k.secret, 'POST');
        assertSameRefusal(sdk, await apiCall(h, k.secret, '/api/v1/tickets', { method: 'POST', body: { subject: 'x' } }), 'insufficient_scope');
        assert.equal(sdk.header('www-authenticate'), 'Bearer realm="latchkey", error="insufficient_scope", scope="tickets:write"');
      });

      it('refuses a revoked key at once as /api/v1 does: 401 api_key_revoked', async () => {
        const h = harness();
        const k = await key({ scopes: ['tickets:read'] });
        assert.equal((await call(`${api.url}/things`, k.secret)).status, 200);
        assert.equal((await tenant.client.delete(`${tenant.keys}/${k.id}`)).status, 200);
        const sdk = await call(`${api.url}/things`, k.secret);
        assertSameRefusal(sdk, await apiCall(h, k.secret, '/api/v1/tickets'), 'api_key_revoked');
      });

      it("refuses a call from outside the key's IP allowlist as /api/v1 does: 403 ip_not_allowed", async () => {
        const h = harness();
        const k = await key({ scopes: ['tickets:read'], ip_allowlist: ['203.0.113.7'] });
        const sdk = await call(`${api.url}/things`, k.secret);
        assertSameRefusal(sdk, await apiCall(h, k.secret, '/api/v1/tickets'), 'ip_not_allowed');
      });

      it('refuses past the rate limit as /api/v1 does: 429 rate_limited with Retry-After; cost counts units', async () => {
        const h = harness();
        const back = atStartOfMinute(h);
        try {
          const k = await key({ scopes: ['tickets:read'], rate_limit: { per_minute: 4 } });
          const bulk = await call(`${api.url}/bulk`, k.secret);
          assert.equal(bulk.status, 200);
          assert.equal(bulk.header('x-ratelimit-remaining'), '1', 'a cost of 3 takes 3 units');
          const refused = await call(`${api.url}/bulk`, k.secret);
          assert.equal(refused.status, 429);
          assert.match(refused.header('retry-after') ?? '', /^[1-9]\d*$/);
          assert.equal((await call(`${api.url}/things`, k.secret)).status, 200, 'the last unit');
          const sdk = await call(`${api.url}/things`, k.secret);
          assertSameRefusal(sdk, await apiCall(h, k.secret, '/api/v1/tickets'), 'rate_limited');
          assert.equal(sdk.header('x-ratelimit-remaining'), '0');
        } finally {
          back();
        }
      });
    });
  }
});

/** A Latchkey that cannot answer: nobody listening, a listener that never answers, or one that answers 500. */
async function brokenLatchkeys(): Promise<{ cases: Array<{ name: string; url: string }>; close(): Promise<void> }> {
  const hanging = createServer(() => {
    // never answers
  }).listen(0, '127.0.0.1');
  const failing = createServer((_req, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"code":"internal_error"}}')).listen(0, '127.0.0.1');
  const closed = createServer().listen(0, '127.0.0.1');
  await Promise.all([once(hanging, 'listening'), once(failing, 'listening'), once(closed, 'listening')]);
  const url = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  const closedUrl = url(closed);
  await new Promise((resolve) => closed.close(resolve));
  return {
    cases: [
      { name: 'unreachable', url: closedUrl },
      { name: 'timing out', url: url(hanging) },
      { name: 'answering 500', url: url(failing) },
    ],
    async close() {
      hanging.closeAllConnections();
      failing.closeAllConnections();
      await Promise.all([new Promise((r) => hanging.close(r)), new Promise((r) => failing.close(r))]);
    },
  };
}

describe('@latchkey/sdk middleware fails closed', () => {
  let broken: Awaited<ReturnType<typeof brokenLatchkeys>>;
  before(async () => {
    broken = await brokenLatchkeys();
  });
  after(() => broken.close());

  for (const adapter of ADAPTERS) {
    it(`${adapter.name}: Latchkey unreachable, timing out or answering 5xx is 503 service_unavailable with Retry-After, never a pass`, async () => {
      for (const { name, url } of broken.cases) {
        const errors: Error[] = [];
        const latchkey = createLatchkey({ baseUrl: url, serviceKey: 'lk_svc_unused', timeoutMs: 300, onError: (e) => errors.push(e) });
        const api = await adapter.start(latchkey);
        try {
          const started = Date.now();
          const answer = await call(`${api.url}/things`, `lk_live_${'A'.repeat(40)}`);
          assert.equal(answer.status, 503, `${name}: ${JSON.stringify(answer.body)}`);
          assert.equal(answer.body.error.code, 'service_unavailable', name);
          assert.equal(answer.body.error.type, 'api_error', name);
          assert.equal(answer.header('retry-after'), '2', name);
          assert.equal(answer.header('request-id'), answer.body.error.request_id, name);
          assert.ok(Date.now() - started < 2000, `${name}: answered within the timeout, not Latchkey's silence`);
          assert.equal(errors.length, 1, `${name}: the failure is reported to onError`);
          assert.equal(errors[0]!.name, 'LatchkeyUnavailableError');
        } finally {
          await api.close();
          latchkey.close();
        }
      }
    });
  }
});
