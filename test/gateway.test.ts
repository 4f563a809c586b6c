import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { after, before, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { atStartOfMinute, createKey, describeEachBackend, newTenant, type Harness, type Tenant } from './harness.js';
import { writeProductFile } from './fixtures/gateway/product.js';
import { startHandUpstream, startJsonServer } from './fixtures/gateway/upstreams.js';
import { freePort } from './process.js';

/**
 * The gateway against real upstreams over real sockets: json-server (npm) for the CRUD an API does, and a
 * node:http upstream of our own that echoes what it received, answers slowly or with any status.
 */

const crm = await startJsonServer();
const live = await startHandUpstream('hand-live');
const test = await startHandUpstream('hand-test');
const nobody = `http://127.0.0.1:${await freePort()}`;
after(async () => {
  await Promise.all([crm.stop(), live.stop(), test.stop()]);
});

const PRODUCT_FILE = writeProductFile({
  max_body_mb: 1,
  upstreams: {
    crm: { url: crm.url },
    hand: { url: live.url, test_url: test.url },
    shared: { url: `${live.url}/` },
    slow: { url: live.url, timeout_ms: 300 },
    down: { url: nobody },
  },
  routes: [
    { method: 'GET', path: '/status', upstream: 'crm', public: true },
    { method: 'GET', path: '/contacts', upstream: 'crm', scope: 'contacts:read' },
    { method: 'GET', path: '/contacts/{id}', upstream: 'crm', scope: 'contacts:read' },
    // Never reached: /contacts/{id} above matches first.
    { method: 'GET', path: '/contacts/export', upstream: 'crm', scope: 'contacts:export' },
    { method: 'POST', path: '/contacts', upstream: 'crm', scope: 'contacts:write' },
    { method: 'GET', path: '/hand/open', upstream: 'hand', public: true },
    { method: '*', path: '/hand/{action}', upstream: 'hand', scope: 'contacts:read' },
    { method: 'GET', path: '/hand/late', upstream: 'hand', public: true },
    { method: '*', path: '/shared/{action}', upstream: 'shared', scope: 'contacts:read' },
    { method: 'POST', path: '/any-key/{action}', upstream: 'hand' },
    { method: '*', path: '/slow/{action}', upstream: 'slow', scope: 'contacts:read' },
    { method: '*', path: '/down/{action}', upstream: 'down', scope: 'contacts:read' },
  ],
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
}

/** One HTTP request with node:http, which (unlike fetch) sends any header it is given, hop-by-hop ones too. */
function send(base: string, method: string, path: string, options: { secret?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.secret) headers.authorization = `Bearer ${options.secret}`;
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
    // host, port and path given apart: a URL string would be normalised (`/a/../b` sent as `/b`).
    const { hostname, port } = new URL(base);
    const request = httpRequest({ hostname, port, path, method, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = null;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          body = text;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, body });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

/** The event of one answered request, once the batched writer has written it, with its payload. */
async function eventOf(h: Harness, answer: Answer) {
  const requestId = String(answer.headers['request-id']);
  for (let i = 0; i < 200; i++) {
    const row = await h.db.selectFrom('audit_events').selectAll().where('request_id', '=', requestId).executeTakeFirst();
    if (row) {
      const payload = await h.db.selectFrom('audit_payloads').select('payload').where('event_id', '=', row.id).executeTakeFirst();
      return { ...row, payload: (payload?.payload ?? null) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`no audit event for ${requestId}`);
}

function errorOf(answer: Answer) {
  const { request_id: requestId, ...rest } = answer.body.error;
  assert.equal(requestId, answer.headers['request-id'], 'the error names its request');
  return { status: answer.status, ...rest };
}

describeEachBackend(
  'gateway',
  (harness) => {
    let gateway = '';
    let main = '';
    let tenant: Tenant;
    let reader: { id: string; secret: string };
    let h: Harness;

    before(async () => {
      h = harness();
      assert.ok(h.app.gateway);
      gateway = await h.app.gateway.listen({ port: 0, host: '127.0.0.1' });
      main = await h.app.listen({ port: 0, host: '127.0.0.1' });
      tenant = await newTenant(h);
      reader = (await createKey(tenant, { name: 'crm reader', scopes: ['contacts:read'] })).body;
    });

    const get = (path: string, secret?: string) => send(gateway, 'GET', path, secret === undefined ? {} : { secret });

    it('routes by method and path template, first match wins, HEAD through GET, * for any method', async () => {
      const list = await get('/contacts', reader.secret);
      assert.equal(list.status, 200);
      // The first two are the file's; the audit test below adds more (both backends share one json-server).
      assert.deepEqual(list.body.slice(0, 2).map((c: { name: string }) => c.name), ['Ada Lovelace', 'Grace Hopper']);
      const one = await get('/contacts/1', reader.secret);
      assert.equal(one.status, 200);
      assert.equal(one.body.name, 'Ada Lovelace');

      // /contacts/export is /contacts/{id} first: the scope asked is contacts:read, not contacts:export.
      const exporter = (await createKey(tenant, { name: 'exporter', scopes: ['contacts:export'] })).body;
      const first = await get('/contacts/export', exporter.secret);
      assert.equal(first.status, 403);
      assert.equal(first.body.error.code, 'insufficient_scope');
      assert.match(first.headers['www-authenticate'] ?? '', /scope="contacts:read"/);

      const head = await send(gateway, 'HEAD', '/contacts/1', { secret: reader.secret });
      assert.equal(head.status, 200);
      assert.equal(head.text, '');

      const deleted = await send(gateway, 'DELETE', '/hand/echo', { secret: reader.secret });
      assert.equal(deleted.status, 200);
      assert.equal(deleted.body.method, 'DELETE');

      // A public route placed before the template answers without a key; one placed after it never does.
      assert.equal((await get('/hand/open')).body.url, '/hand/open');
      assert.equal((await get('/hand/late')).body.error.code, 'missing_api_key');
    });

    it('answers 404 route_not_found for what no route matches, without reaching the upstream, and audits it', async () => {
      const before = live.seen.length;
      const refused = await send(gateway, 'DELETE', '/contacts/1', { secret: reader.secret });
      assert.deepEqual(errorOf(refused), {
        status: 404,
        code: 'route_not_found',
        type: 'not_found_error',
        message: 'No route of this API matches DELETE /contacts/1.',
      });
      assert.equal((await get('/contacts/1', reader.secret)).status, 200, 'json-server still has the contact');
      const unknown = await get('/nowhere?x=1');
      assert.equal(unknown.body.error.code, 'route_not_found');
      // A method no route can name is unmatched too, even under a `*` route.
      const trace = await send(gateway, 'PROPFIND', '/hand/echo', { secret: reader.secret });
      assert.deepEqual([trace.status, trace.body.error.code], [404, 'route_not_found']);
      assert.equal(live.seen.length, before);
      const event = await eventOf(h, refused);
      assert.equal(event.status, 404);
      assert.equal(event.error_code, 'route_not_found');
      // As /api's unknown paths are `/api/*`, the gateway's are its catch-all: one row in usage, not one per path.
      assert.equal(event.route, '/*');
      assert.equal(event.path, '/contacts/1');
      assert.equal(event.upstream_ms, null);
    });

    it('passes a public route without a key, and audits it with the upstream status', async () => {
      const status = await get('/status');
      assert.equal(status.status, 200);
      assert.deepEqual(status.body, { ok: true });
      const event = await eventOf(h, status);
      assert.equal(event.key_id, null);
      assert.equal(event.status, 200);
      assert.equal(event.route, '/status');
      assert.equal(event.scope, null);
      assert.ok(event.upstream_ms !== null && event.upstream_ms <= event.latency_ms);
    });

    it('refuses with the same codes, messages and headers as /api/v1 for the same key', async () => {
      const compare = async (secret: string | undefined, expected: string, options: { ip?: string } = {}) => {
        const headers: Record<string, string> = options.ip ? { 'x-forwarded-for': options.ip } : {};
        const viaGateway = await send(gateway, 'GET', '/contacts', { ...(secret ? { secret } : {}), headers });
        const viaApi = await send(main, 'GET', '/api/v1/api_keys/current', { ...(secret ? { secret } : {}), headers });
        assert.equal(viaGateway.body.error?.code, expected, viaGateway.text);
        assert.deepEqual(errorOf(viaGateway), errorOf(viaApi));
        for (const name of ['www-authenticate', 'retry-after', 'x-ratelimit-limit']) assert.equal(viaGateway.headers[name], viaApi.headers[name], name);
        return { viaGateway, viaApi };
      };
      await compare(undefined, 'missing_api_key');
      await compare('acme_live_notarealkeyatallnotarealkeyatall0000', 'invalid_api_key');

      const revoked = (await createKey(tenant, { name: 'revoked', scopes: ['contacts:read'] })).body;
      assert.equal((await get('/contacts', revoked.secret)).status, 200);
      assert.equal((await tenant.client.delete(`${tenant.keys}/${revoked.id}`)).status, 200);
      await compare(revoked.secret, 'api_key_revoked');

      const fenced = (await createKey(tenant, { name: 'fenced', scopes: ['contacts:read'], ip_allowlist: ['192.0.2.1'] })).body;
      await compare(fenced.secret, 'ip_not_allowed');

      const expiring = (await createKey(tenant, { name: 'expiring', scopes: ['contacts:read'], expires_at: new Date(h.clock.now.getTime() + 60_000).toISOString() })).body;
      assert.equal((await get('/contacts', expiring.secret)).status, 200);
      h.clock.advance(120);
      try {
        await compare(expiring.secret, 'api_key_expired');
      } finally {
        h.clock.advance(-120);
      }

      const back = atStartOfMinute(h);
      try {
        const limited = (await createKey(tenant, { name: 'limited', scopes: ['contacts:read'], rate_limit: { per_minute: 2 } })).body;
        const passed = await get('/contacts', limited.secret);
        assert.equal(passed.status, 200);
        assert.equal(passed.headers['x-ratelimit-limit'], '2');
        assert.equal(passed.headers['x-ratelimit-remaining'], '1');
        assert.match(String(passed.headers['x-ratelimit-reset']), /^\d+$/);
        assert.equal((await get('/contacts', limited.secret)).status, 200);
        const { viaGateway } = await compare(limited.secret, 'rate_limited');
        assert.equal(viaGateway.headers['x-ratelimit-remaining'], '0');
        assert.match(String(viaGateway.headers['retry-after']), /^\d+$/);
      } finally {
        back();
      }

      // The scope a route needs: the same refusal as /api/v1's rotate without keys:rotate_self.
      const viaGateway = await send(gateway, 'POST', '/contacts', { secret: reader.secret, headers: { 'content-type': 'application/json' }, body: '{}' });
      const viaApi = await send(main, 'POST', '/api/v1/api_keys/current/rotate', { secret: reader.secret, headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.deepEqual([viaGateway.status, viaGateway.body.error.code, viaGateway.body.error.type], [viaApi.status, viaApi.body.error.code, viaApi.body.error.type]);
      assert.equal(viaGateway.headers['www-authenticate'], 'Bearer realm="latchkey", error="insufficient_scope", scope="contacts:write"');
      assert.equal(viaApi.headers['www-authenticate'], 'Bearer realm="latchkey", error="insufficient_scope", scope="keys:rotate_self"');
    });

    it('sends the upstream no key and no forged identity: a signed Latchkey-Principal, plain Latchkey-* and X-Forwarded-*', async () => {
      const answer = await send(gateway, 'POST', '/hand/echo?x=1', {
        secret: reader.secret,
        headers: {
          'content-type': 'text/plain',
          'latchkey-principal': 'forged.token.here',
          'latchkey-key-id': 'key_forged',
          'Latchkey-Workspace-Id': 'wks_forged',
          'x-forwarded-for': '203.0.113.66',
          'x-forwarded-host': 'evil.example',
          forwarded: 'for=203.0.113.66',
          'proxy-authorization': 'Basic c2VjcmV0',
          connection: 'keep-alive, x-drop-me',
          'keep-alive': 'timeout=5',
          te: 'trailers',
          'x-drop-me': 'named in Connection',
          'x-custom': 'kept',
        },
        body: 'hello',
      });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.upstream, 'hand-live');
      const seen = answer.body.headers as Record<string, string>;
      const requestId = String(answer.headers['request-id']);
      for (const name of ['authorization', 'proxy-authorization', 'forwarded', 'keep-alive', 'te', 'x-drop-me']) assert.equal(seen[name], undefined, name);
      assert.ok(!JSON.stringify(seen).includes(reader.secret), 'the key never reaches the upstream');
      assert.ok(!JSON.stringify(seen).includes('forged'), 'no forged Latchkey-* header reaches the upstream');
      assert.equal(seen['x-custom'], 'kept');
      assert.equal(seen['latchkey-key-id'], reader.id);
      assert.equal(seen['latchkey-workspace-id'], tenant.workspaceId);
      assert.equal(seen['latchkey-mode'], 'live');
      assert.equal(seen['latchkey-request-id'], requestId);
      assert.equal(seen['x-forwarded-for'], '127.0.0.1', "a client's own X-Forwarded-For is not believed");
      assert.equal(seen['x-forwarded-proto'], 'http');
      assert.equal(seen['x-forwarded-host'], new URL(gateway).host);
      assert.equal(answer.body.sha256, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', 'the body arrived whole');

      // Verified as an upstream would: with only the JWKS, fetched over HTTP from the main listener.
      const jwks = createRemoteJWKSet(new URL(`${main}/.well-known/jwks.json`));
      const { payload, protectedHeader } = await jwtVerify(seen['latchkey-principal']!, jwks, { issuer: 'latchkey', audience: 'hand', algorithms: ['EdDSA'] });
      assert.equal(protectedHeader.alg, 'EdDSA');
      assert.ok(protectedHeader.kid);
      assert.equal(payload.sub, reader.id);
      assert.equal(payload.workspace_id, tenant.workspaceId);
      assert.equal(payload.mode, 'live');
      assert.equal(payload.key_name, 'crm reader');
      assert.deepEqual(payload.scopes, ['contacts:read']);
      // By default a token is reused for a key's calls: the call's own id is the plain header's (above).
      assert.equal(payload.request_id, undefined);
      assert.equal(payload.exp! - payload.iat!, 60);
      // A token for one upstream is not one for another.
      await assert.rejects(jwtVerify(seen['latchkey-principal']!, jwks, { issuer: 'latchkey', audience: 'crm' }));

      // The answer: the upstream's headers, but the gateway's own Request-Id and rate-limit headers.
      assert.equal(answer.headers['x-upstream'], 'hand-live');
      assert.equal(answer.headers['x-ratelimit-limit'] !== '999999', true);
      assert.notEqual(answer.headers['request-id'], 'upstream-made-up');
      assert.equal(answer.headers['keep-alive'] === 'timeout=5', false);
    });

    it('takes an upload sent with Expect: 100-continue, as curl sends any body over 1 MiB', async () => {
      const body = 'x'.repeat(512 * 1024);
      const answer = await send(gateway, 'PUT', '/hand/echo', { secret: reader.secret, headers: { expect: '100-continue', 'content-type': 'application/octet-stream' }, body });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.bytes, body.length);
      assert.equal(answer.body.headers.expect, undefined);
    });

    it('sends test keys to test_url, or to url with Latchkey-Mode: test', async () => {
      const testKey = (await createKey(tenant, { name: 'sandbox', scopes: ['contacts:read'], mode: 'test' })).body;
      const own = await get('/hand/echo', testKey.secret);
      assert.equal(own.body.upstream, 'hand-test');
      assert.equal(own.body.headers['latchkey-mode'], 'test');
      const shared = await get('/shared/echo', testKey.secret);
      assert.equal(shared.body.upstream, 'hand-live');
      assert.equal(shared.body.url, '/shared/echo', 'a trailing slash in the upstream url makes no double slash');
      assert.equal(shared.body.headers['latchkey-mode'], 'test');
      const liveCall = await get('/shared/echo', reader.secret);
      assert.equal(liveCall.body.upstream, 'hand-live');
      assert.equal(liveCall.body.headers['latchkey-mode'], 'live');
      const { payload } = await jwtVerify(own.body.headers['latchkey-principal'], createRemoteJWKSet(new URL(`${main}/.well-known/jwks.json`)), { audience: 'hand' });
      assert.equal(payload.mode, 'test');
    });

    it('answers 502 upstream_unavailable and 504 upstream_timeout in the error shape, audited', async () => {
      const down = await get('/down/anything', reader.secret);
      assert.equal(errorOf(down).code, 'upstream_unavailable');
      assert.deepEqual([down.status, down.body.error.type], [502, 'api_error']);
      const slow = await get('/slow/slow', reader.secret);
      assert.equal(errorOf(slow).code, 'upstream_timeout');
      assert.deepEqual([slow.status, slow.body.error.type], [504, 'api_error']);
      for (const [answer, status, code] of [[down, 502, 'upstream_unavailable'], [slow, 504, 'upstream_timeout']] as const) {
        const event = await eventOf(h, answer);
        assert.deepEqual([event.status, event.error_code, event.key_id, event.route], [status, code, reader.id, answer === down ? '/down/{action}' : '/slow/{action}']);
      }
      assert.equal((await get('/hand/echo', reader.secret)).status, 200, 'the gateway goes on serving');
    });

    it('cuts the connection of an upstream answer that stalls past timeout_ms mid-body, never a truncated success', async () => {
      const { hostname, port } = new URL(gateway);
      const answer = await new Promise<{ status: number; bytes: number; complete: boolean }>((resolve) => {
        httpRequest({ hostname, port, path: '/slow/stall', headers: { authorization: `Bearer ${reader.secret}` }, agent: false }, (response) => {
          let bytes = 0;
          response.on('data', (chunk: Buffer) => (bytes += chunk.length));
          response.on('close', () => resolve({ status: response.statusCode ?? 0, bytes, complete: response.complete }));
        })
          .on('error', () => {})
          .end();
      });
      assert.deepEqual(answer, { status: 200, bytes: 100, complete: false });
      assert.equal((await get('/hand/echo', reader.secret)).status, 200);
    });

    it('does not count a slow upload against timeout_ms: the timeout is for the upstream', async () => {
      const { hostname, port } = new URL(gateway);
      const answer = await new Promise<Answer>((resolve, reject) => {
        const request = httpRequest(
          { hostname, port, path: '/slow/echo', method: 'POST', headers: { authorization: `Bearer ${reader.secret}`, 'content-length': '8' }, agent: false },
          (response) => {
            let text = '';
            response.on('data', (chunk: Buffer) => (text += chunk.toString()));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text, body: JSON.parse(text) }));
          },
        );
        request.on('error', reject);
        // 8 bytes over about 800 ms against a timeout_ms of 300.
        let sent = 0;
        const trickle = setInterval(() => {
          request.write('x');
          if (++sent === 8) {
            clearInterval(trickle);
            request.end();
          }
        }, 100);
      });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.bytes, 8);
    });

    it('answers 413 to a declared body over max_body_mb without contacting the upstream, audited', async () => {
      const seen = live.seen.length;
      const refused = await send(gateway, 'POST', '/hand/echo', { secret: reader.secret, headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(1024 * 1024 + 1) });
      assert.deepEqual([refused.status, refused.body.error.code], [413, 'payload_too_large']);
      assert.equal(live.seen.length, seen);
      const event = await eventOf(h, refused);
      assert.deepEqual([event.status, event.error_code, event.upstream_ms, event.route], [413, 'payload_too_large', null, '/hand/{action}']);
    });

    it("passes the upstream's 4xx and 5xx through unchanged, and never retries a 503", async () => {
      const missing = await get('/contacts/999', reader.secret);
      assert.equal(missing.status, 404);
      assert.deepEqual(missing.body, {}, "json-server's own 404");
      const before = live.seen.filter((r) => r.url === '/hand/status-503').length;
      const unavailable = await send(gateway, 'PUT', '/hand/status-503', { secret: reader.secret, body: 'x' });
      assert.equal(unavailable.status, 503);
      assert.equal(unavailable.body.upstream, 'hand-live');
      assert.equal(unavailable.headers['retry-after'], undefined);
      assert.equal(live.seen.filter((r) => r.url === '/hand/status-503').length, before + 1, 'sent once');
      const teapot = await get('/hand/status-418', reader.secret);
      assert.equal(teapot.status, 418);
      assert.equal(teapot.body.upstream, 'hand-live');
      const event = await eventOf(h, unavailable);
      assert.deepEqual([event.status, event.error_code], [503, null]);
    });

    it('audits a call the client abandoned mid-upload or mid-download, as 499, once', async () => {
      const { hostname, port } = new URL(gateway);
      const receiving = live.receiving('/hand/abandoned-upload');
      const ended = live.next();
      const upload = httpRequest({ hostname, port, path: '/hand/abandoned-upload', method: 'POST', headers: { authorization: `Bearer ${reader.secret}` }, agent: false });
      upload.on('error', () => {});
      upload.write(Buffer.alloc(256 * 1024, 1));
      await receiving;
      upload.destroy();
      assert.equal((await ended).aborted, true, 'the upstream request was aborted');

      const requestId = await new Promise<string>((resolve) => {
        const download = httpRequest({ hostname, port, path: '/hand/download-50000000', headers: { authorization: `Bearer ${reader.secret}` }, agent: false }, (response) => {
          response.once('data', () => {
            download.destroy();
            resolve(String(response.headers['request-id']));
          });
        });
        download.on('error', () => {});
        download.end();
      });

      const events = async (path: string) => h.db.selectFrom('audit_events').selectAll().where('key_id', '=', reader.id).where('path', '=', path).execute();
      for (let i = 0; i < 200 && ((await events('/hand/abandoned-upload')).length === 0 || (await events('/hand/download-50000000')).length === 0); i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      // Later writes would come with the next flush: give them the time to show up, if there were any.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const [uploaded, downloaded] = [await events('/hand/abandoned-upload'), await events('/hand/download-50000000')];
      assert.deepEqual(uploaded.map((e) => [e.status, e.route]), [[499, '/hand/{action}']]);
      assert.deepEqual(downloaded.map((e) => [e.status, e.request_id]), [[499, requestId]]);
      assert.equal((await get('/hand/echo', reader.secret)).status, 200);
    });

    it('audits one event per call: status, latencies, the route template, a small JSON body redacted, the body bytes hashed', async () => {
      const writer = (await createKey(tenant, { name: 'crm writer', scopes: ['contacts:read', 'contacts:write'] })).body;
      const leaked = (await createKey(tenant, { name: 'leaked', scopes: ['contacts:read'] })).body;
      const json = { 'content-type': 'application/json' };
      const created = await send(gateway, 'POST', '/contacts', { secret: writer.secret, headers: json, body: JSON.stringify({ name: 'Linus', note: `key ${leaked.secret}` }) });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.name, 'Linus');
      const one = await get(`/contacts/${created.body.id}`, writer.secret);
      assert.equal(one.body.note, `key ${leaked.secret}`, 'the upstream got the body as sent');

      const event = await eventOf(h, created);
      assert.deepEqual(
        [event.method, event.route, event.path, event.status, event.scope, event.key_id, event.error_code],
        ['POST', '/contacts', '/contacts', 201, 'contacts:write', writer.id, null],
      );
      assert.ok(event.upstream_ms !== null && event.upstream_ms >= 0 && event.upstream_ms <= event.latency_ms, `${event.upstream_ms} <= ${event.latency_ms}`);
      assert.equal(event.payload.body.name, 'Linus');
      assert.ok(!JSON.stringify(event.payload).includes(leaked.secret), 'the key inside the body is masked');
      const read = await eventOf(h, one);
      assert.equal(read.route, '/contacts/{id}');
      assert.equal(read.path, `/contacts/${created.body.id}`);

      const big = await send(gateway, 'POST', '/contacts', { secret: writer.secret, headers: json, body: JSON.stringify({ name: 'Big', blob: 'x'.repeat(20_000) }) });
      assert.equal(big.status, 201);
      assert.equal((await eventOf(h, big)).payload, null, 'a JSON body over 16 KiB is not kept');
      const text = await send(gateway, 'POST', '/hand/echo', { secret: writer.secret, headers: { 'content-type': 'text/plain' }, body: '{"a":1}' });
      assert.equal((await eventOf(h, text)).payload, null, 'a body that is not JSON is not kept');

      // The same call but for the bytes of its body: another argument hash.
      const spaced = await send(gateway, 'POST', '/hand/echo', { secret: writer.secret, headers: { 'content-type': 'text/plain' }, body: '{"a": 1}' });
      const again = await send(gateway, 'POST', '/hand/echo', { secret: writer.secret, headers: { 'content-type': 'text/plain' }, body: '{"a":1}' });
      const [a, b, c] = [await eventOf(h, text), await eventOf(h, spaced), await eventOf(h, again)];
      assert.notEqual(a.argument_hash, b.argument_hash);
      assert.equal(a.argument_hash, c.argument_hash);

      const events = await h.db.selectFrom('audit_events').select('request_id').where('key_id', '=', writer.id).execute();
      assert.equal(events.length, 6, 'one event per call');
      assert.ok(!h.logs.join('').includes(leaked.secret) && !h.logs.join('').includes(writer.secret), 'no key in the logs');
    });
  },
  { env: { PRODUCT_FILE } },
);
