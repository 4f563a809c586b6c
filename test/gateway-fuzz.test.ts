/**
 * Hostile input through the gateway: GATEWAY_FUZZ_RUNS (default 5,000) generated requests — methods, paths
 * with dot segments and escapes at every depth, queries, Authorization headers (real, test, revoked, made
 * up, other schemes), forged `Latchkey-*` headers, bodies of any content type — sent in process to the
 * gateway in front of a real node:http upstream that echoes what it received. For every request:
 * - never a 5xx (the upstream is healthy);
 * - an answer of Latchkey's own has the documented error shape;
 * - what reached the upstream had no Authorization, none of the client's `Latchkey-*` values, a path the
 *   gateway's unsafe-path rule lets through, and a key's principal only when the route was not public;
 * - no key secret anywhere in the answer (the upstream's echo included).
 * FUZZ_SEED replays a run; a failure prints fast-check's shrunk counterexample.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { unsafePath } from '../src/gateway/route-table.js';
import { ERRORS, type ErrorCode } from '../src/http/errors.js';
import { startHarness, createKey, newTenant, type Harness } from './harness.js';
import { writeProductFile } from './fixtures/gateway/product.js';
import { startHandUpstream, type HandUpstream } from './fixtures/gateway/upstreams.js';

const RUNS = Number(process.env.GATEWAY_FUZZ_RUNS ?? 5_000);
const SEED = process.env.FUZZ_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED);

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
  /** Spread over many addresses, so that one address's budget for made-up keys does not answer most calls 429. */
  remoteAddress: string;
}

/** A path segment as hostile as it gets: dots and slashes hidden at every depth of escaping, junk escapes, unicode, length. */
const segment = fc.oneof(
  fc.constantFrom('42', '..', '.', '%2e', '%2E%2e', '%252e%252e', '%25252e', '%2f', 'a%2Fb', 'a%252Fb', '%5c', 'a\\b', '%', '%zz', '%00', '%C0%AE', 'ü', '%F0%9F%94%91', ''),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ maxLength: 20 }),
  fc.string({ minLength: 200, maxLength: 3000 }).map(encodeURIComponent),
);

/** Mostly the routes' own shapes (their `{id}` fuzzed), a quarter anything at all. */
const path = fc.oneof(
  { arbitrary: fc.constant('/v1/things'), weight: 2 },
  { arbitrary: segment.map((id) => `/v1/things/${id}/view`), weight: 3 },
  { arbitrary: segment.map((id) => `/v1/open/${id}/view`), weight: 2 },
  { arbitrary: fc.array(segment, { maxLength: 6 }).map((parts) => `/${parts.join('/')}`), weight: 2 },
);

describe('hostile input through the gateway: never a 5xx, our error shape, nothing forged or secret reaches or leaves', () => {
  let upstream: HandUpstream;
  let h: Harness & { close(): Promise<void> };
  let gateway: FastifyInstance;
  const secrets: Record<'live' | 'test' | 'revoked', string> = { live: '', test: '', revoked: '' };

  before(async () => {
    upstream = await startHandUpstream('fuzz');
    const productFile = writeProductFile({
      upstreams: { api: { url: upstream.url, timeout_ms: 5_000 } },
      routes: [
        { method: 'GET', path: '/v1/things', upstream: 'api', scope: 'contacts:read' },
        { method: 'GET', path: '/v1/things/{id}/view', upstream: 'api', scope: 'contacts:read' },
        { method: 'POST', path: '/v1/things', upstream: 'api', scope: 'contacts:write' },
        { method: 'PUT', path: '/v1/things/{id}/view', upstream: 'api', scope: 'contacts:export' },
        { method: '*', path: '/v1/open/{id}/view', upstream: 'api', public: true },
      ],
    });
    h = await startHarness('pglite', { env: { PRODUCT_FILE: productFile } });
    gateway = h.app.gateway!;
    const tenant = await newTenant(h);
    const rateLimit = { per_minute: 1000 };
    secrets.live = (await createKey(tenant, { name: 'live', scopes: ['contacts:read', 'contacts:write'], rate_limit: rateLimit })).body.secret;
    secrets.test = (await createKey(tenant, { name: 'test', mode: 'test', scopes: ['contacts:read'], rate_limit: rateLimit })).body.secret;
    const revoked = (await createKey(tenant, { name: 'revoked', scopes: ['contacts:read'] })).body;
    assert.equal((await tenant.client.delete(`${tenant.keys}/${revoked.id}`)).status, 200);
    secrets.revoked = revoked.secret;
  });

  after(async () => {
    await h?.close();
    await upstream?.stop();
  });

  it('passes a query with malformed %-escapes to the upstream as it came (it once answered 500)', async () => {
    for (const query of ['?q=%zz', '?a=%6!&b=%', '?%E0%A4%A']) {
      const response = await gateway.inject({ method: 'GET', url: `/v1/open/x/view${query}`, remoteAddress: '198.51.100.1' });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal((JSON.parse(response.body) as { url: string }).url, `/v1/open/x/view${query}`);
    }
  });

  it(`${RUNS} generated requests (seed ${SEED})`, async () => {
    const authorization = fc.oneof(
      fc.constantFrom<'live' | 'test' | 'revoked'>('live', 'test', 'revoked').map((which) => `Bearer ${secrets[which]}`),
      fc.constant(undefined),
      fc.string({ maxLength: 80 }).map((junk) => `Bearer ${junk}`),
      fc.constantFrom('Basic YWxhZGRpbjpvcGVuc2VzYW1l', 'Bearer', 'bearer  acme_live_', `Bearer ${'acme_live_'.padEnd(46, 'A')}`),
    );
    const request = fc.record({
      // Mostly the methods the routes name, so that many calls get through to the upstream.
      method: fc.oneof(
        { arbitrary: fc.constant('GET'), weight: 4 },
        { arbitrary: fc.constant('POST'), weight: 2 },
        { arbitrary: fc.constantFrom('HEAD', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND'), weight: 3 },
      ),
      path,
      query: fc.option(fc.string({ maxLength: 200 }).map((q) => `?${q.replace(/[#\s]/g, '')}`), { nil: '' }),
      authorization,
      forged: fc.option(fc.record({ 'latchkey-principal': fc.string({ maxLength: 60 }), 'latchkey-key-id': fc.constant('key_forged'), 'latchkey-mode': fc.constant('forged') }), { nil: undefined }),
      contentType: fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', 'garbage', undefined),
      body: fc.option(fc.oneof(fc.json({ maxDepth: 4 }), fc.string({ maxLength: 2000 })), { nil: undefined }),
      forwardedFor: fc.option(fc.constantFrom('203.0.113.9', 'not an address', '10.0.0.1, 198.51.100.2'), { nil: undefined }),
      client: fc.integer({ min: 1, max: 254 }),
    });

    const statuses = new Map<number, number>();
    let reachedUpstream = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.authorization !== undefined) headers.authorization = r.authorization;
        if (r.forged) Object.assign(headers, r.forged);
        if (r.forwardedFor) headers['x-forwarded-for'] = r.forwardedFor;
        const withBody = r.body !== undefined && !['GET', 'HEAD'].includes(r.method);
        if (withBody && r.contentType) headers['content-type'] = r.contentType;
        const sent: Sent = { method: r.method, url: `${r.path}${r.query}`, headers, remoteAddress: `198.51.100.${r.client}`, ...(withBody ? { payload: r.body } : {}) };
        let response: LightMyRequestResponse;
        try {
          response = await gateway.inject({
            method: sent.method as 'GET',
            url: sent.url,
            headers: sent.headers,
            remoteAddress: sent.remoteAddress,
            ...(sent.payload === undefined ? {} : { payload: sent.payload }),
          });
        } catch {
          return; // light-my-request could not build it (an invalid header value): no server saw it
        }
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        const problem = violation(sent, response, Object.values(secrets));
        if (response.headers['x-upstream'] === 'fuzz') reachedUpstream++;
        assert.equal(problem, null, `${problem}\n  ${sent.method} ${sent.url.slice(0, 300)}\n  headers: ${JSON.stringify(sent.headers).slice(0, 400)}`);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    process.stderr.write(`gateway fuzz: ${RUNS} requests, ${reachedUpstream} reached the upstream; statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    // The run meant something: calls went through, and calls were refused.
    assert.ok(reachedUpstream > RUNS / 20, `only ${reachedUpstream} requests reached the upstream`);
    assert.ok([...statuses.keys()].some((status) => status >= 400), 'nothing was refused');
  });
});

/** Why this answer breaks a property, or null. */
function violation(sent: Sent, response: LightMyRequestResponse, secrets: readonly string[]): string | null {
  const status = response.statusCode;
  if (status >= 500) return `answered ${status}: ${response.body.slice(0, 300)}`;
  if (secrets.some((secret) => response.body.includes(secret))) return 'a key secret appears in the answer';
  if (response.headers['x-upstream'] === 'fuzz') return upstreamViolation(sent, response);
  if (status < 400 || sent.method === 'HEAD') return null;
  let error: Record<string, unknown> | undefined;
  try {
    error = (JSON.parse(response.body) as { error?: Record<string, unknown> }).error;
  } catch {
    return `error ${status} is not JSON`;
  }
  const known = error && ERRORS[error.code as ErrorCode];
  if (!error || !known) return `error ${status} without a known code: ${response.body.slice(0, 200)}`;
  if (known.status !== status || error.type !== known.type) return `code ${String(error.code)} answered ${status} as ${String(error.type)}`;
  if (error.request_id !== response.headers['request-id']) return 'error.request_id is not the Request-Id header';
  return null;
}

/** What the upstream's echo says it received. */
function upstreamViolation(sent: Sent, response: LightMyRequestResponse): string | null {
  if (sent.method === 'HEAD') return null;
  const echo = JSON.parse(response.body) as { url: string; headers: Record<string, string> };
  if (echo.headers.authorization !== undefined) return 'the upstream received Authorization';
  for (const name of ['latchkey-principal', 'latchkey-key-id', 'latchkey-mode'] as const) {
    const forged = sent.headers[name];
    if (forged !== undefined && echo.headers[name] === forged) return `the upstream received the client's ${name}`;
  }
  const receivedPath = echo.url.split('?')[0]!;
  if (unsafePath(receivedPath) !== null) return `the upstream received an unsafe path: ${receivedPath.slice(0, 200)}`;
  // As sent, but for what WHATWG URL rules escape on the way (`>` becomes %3E, `'` in a query %27: the
  // same once decoded; light-my-request applies them to the query before the gateway sees it).
  const sentUrl = new URL(sent.url, 'http://gateway');
  if (receivedPath !== sentUrl.pathname) return `the upstream received another path than was sent: ${receivedPath.slice(0, 200)}`;
  const receivedQuery = echo.url.includes('?') ? echo.url.slice(echo.url.indexOf('?')) : '';
  if (receivedQuery !== sentUrl.search) return `the upstream received another query than was sent: ${receivedQuery.slice(0, 200)}`;
  const open = receivedPath.startsWith('/v1/open/');
  if (open === (echo.headers['latchkey-principal'] !== undefined)) return open ? 'a public route forwarded a principal' : 'a keyed route forwarded no principal';
  return null;
}
