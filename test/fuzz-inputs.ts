/**
 * The hostile inputs of test/fuzz.test.ts, as fast-check arbitraries: Authorization headers, paths, query
 * strings, product-API bodies and management-API bodies. Each arbitrary yields one whole request.
 */
import fc from 'fast-check';
import { API_ROUTES } from '../src/api/resources.js';
import { CAPABILITIES } from '../src/embed/capabilities.js';
import { newId } from '../src/ids.js';
import { BASE62, withChecksum } from '../src/keys/key-format.js';
import { REFERENCE_PRODUCT } from '../src/product/product.js';

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  payload?: string;
  remoteAddress: string;
}

/** What the fuzz tenant holds: ids to aim at and credentials to send. */
export interface FuzzTargets {
  brand: string;
  workspaceId: string;
  /** All scopes but keys:rotate_self, so that a fuzzed request can never rotate the key away. */
  liveSecret: string;
  testSecret: string;
  revokedSecret: string;
  /** A key that management bodies may update, rotate and have versions revoked. */
  victimKeyId: string;
  victimSecretId: string;
  memberUserId: string;
  /** Records of the live view, by resource path, for GET/PATCH/DELETE by id. */
  recordIds: Record<string, string>;
  cookie: string;
  csrf: string;
  /** A service key with the workspace permissions and keys:verify: workspace bodies are sent with it too, to reach the writes; verify bodies always. */
  serviceSecret: string;
  /** Source addresses: the made-up-key limit is per address, so spreading them keeps lookups happening. */
  ips: string[];
}

export const RESOURCES = ['conversations', 'contacts', 'tickets', 'scorecards', 'agents', 'webhooks', 'knowledge_base', 'accounts', 'policies'];
const WRITABLE = ['conversations', 'contacts', 'tickets', 'webhooks', 'knowledge_base', 'accounts', 'policies'];
const METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS'];

const base62 = (length: number) => fc.string({ unit: fc.constantFrom(...BASE62), minLength: length, maxLength: length });
const binary = (maxLength = 64) => fc.string({ unit: 'binary', maxLength });
const long = (min: number, max: number) => fc.tuple(fc.integer({ min, max }), fc.constantFrom('a', 'é', '%', '🔑', '\u0000', ' ')).map(([n, c]) => c.repeat(n));
const controlChar = fc.integer({ min: 0, max: 31 }).map((c) => String.fromCharCode(c));

/** JSON values that break assumptions: huge and odd numbers, long and odd strings, deep nesting. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: binary() },
  { weight: 3, arbitrary: fc.constantFrom(0, -1, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), 1e308, 5e-324, 0.5, '1', '', ' ', 'null', true, null, [], {}) },
  // Long strings: mostly within the bounds of a field's size, sometimes past a body's size limit.
  { weight: 2, arbitrary: fc.oneof({ weight: 6, arbitrary: long(60, 2_000) }, { weight: 1, arbitrary: long(60_000, 70_000) }) },
  { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', '\ud800', 'a\u0000b', '<script>', "' or 1=1 --", '../../etc/passwd') },
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });

function json(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/** A body as sent: mostly JSON of the value, sometimes raw text that is not quite JSON. */
function body(value: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: value.map(json) },
    { weight: 1, arbitrary: fc.tuple(value.map(json), fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        binary(200),
        fc.integer({ min: 1, max: 20_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
        fc.integer({ min: 1, max: 20_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
        fc.constantFrom('', ' ', '\ufeff{}', '{"a":1,"a":2}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', 'NaN', '1e999', '"\\ud800"'),
      ),
    },
  );
}

const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'application/json; charset=utf-16', 'APPLICATION/JSON', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', '') },
);

export function arbitraries(t: FuzzTargets) {
  const ip = fc.constantFrom(...t.ips);
  const realSecret = fc.constantFrom(t.liveSecret, t.testSecret, t.revokedSecret);
  const mode = fc.constantFrom('live', 'test');

  // ---- Authorization headers ------------------------------------------------------------------------
  const token = fc.oneof(
    realSecret,
    // Right shape and checksum, unknown: reaches the lookup.
    fc.tuple(mode, base62(30)).map(([m, r]) => withChecksum(`${t.brand}_${m}_${r}`)),
    // Shares the first characters of a real key, checksum right: reaches the lookup.
    fc.tuple(fc.integer({ min: 1, max: 29 }), base62(30)).map(([n, r]) => {
      const head = t.liveSecret.slice(0, t.brand.length + 6 + n);
      return withChecksum(head + r.slice(0, 30 - n));
    }),
    // Right prefix, wrong checksum.
    fc.tuple(mode, base62(36)).map(([m, r]) => `${t.brand}_${m}_${r}`),
    // A real key with one character changed, dropped or added.
    fc.tuple(realSecret, fc.nat(), fc.constantFrom(...BASE62)).map(([s, i, c]) => s.slice(0, i % s.length) + c + s.slice((i % s.length) + 1)),
    realSecret.map((s) => s.slice(0, -1)),
    fc.tuple(realSecret, binary(8)).map(([s, extra]) => s + extra),
    // Too long.
    fc.tuple(realSecret, long(1, 20_000)).map(([s, tail]) => s + tail),
    long(37, 20_000),
    // Control characters inside.
    fc.tuple(realSecret, fc.nat(), controlChar).map(([s, i, c]) => s.slice(0, i % s.length) + c + s.slice(i % s.length)),
    fc.constantFrom('', ' ', 'null', 'undefined', `${t.brand}_live_`, `${t.brand}_prod_${'a'.repeat(36)}`, 'sk_live_' + 'a'.repeat(36)),
    binary(80),
  );
  const scheme = fc.oneof(
    { weight: 6, arbitrary: fc.constant('Bearer ') },
    { weight: 1, arbitrary: fc.mixedCase(fc.constant('bearer')).map((s) => `${s} `) },
    { weight: 1, arbitrary: fc.constantFrom('Bearer  ', 'Bearer\t', ' Bearer ', 'Bearer', 'Basic ', 'Token ', 'Bearer Bearer ', 'Bearer: ', '') },
  );
  const authorization: fc.Arbitrary<string | string[] | undefined> = fc.oneof(
    { weight: 10, arbitrary: fc.tuple(scheme, token, fc.constantFrom('', ' ', '\t', ',')).map(([s, k, tail]) => s + k + tail) },
    { weight: 1, arbitrary: fc.tuple(token, token).map(([a, b]) => `Bearer ${a}, Bearer ${b}`) },
    { weight: 1, arbitrary: fc.array(fc.tuple(scheme, token).map(([s, k]) => s + k), { minLength: 2, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 120 }).map((bytes) => Buffer.from(bytes).toString('latin1')) },
    { weight: 1, arbitrary: binary(120) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
  const apiCall = fc.constantFrom(
    { method: 'GET', url: '/api/v1/ping' },
    { method: 'GET', url: '/api/v1/conversations?limit=1' },
    { method: 'GET', url: '/api/v1/api_keys/current' },
    { method: 'POST', url: '/api/v1/api_keys/current/rotate' },
    { method: 'POST', url: '/api/v1/contacts', payload: json({ email: 'fuzz@example.com', name: 'Fuzz' }) },
  );
  // The app trusts one proxy hop (TRUST_PROXY=1), so the client address comes from this header when sent.
  const forwardedFor = fc.oneof(
    { weight: 8, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.oneof(fc.ipV4(), fc.ipV6(), fc.tuple(fc.ipV4(), fc.ipV4()).map(([a, b]) => `${a}, ${b}`)) },
    { weight: 1, arbitrary: fc.oneof(binary(60), fc.constantFrom('{x}', 'unknown', '1.2.3.4, {a}', '::ffff:1.2.3.4', '1.2.3.4:80', '[::1]', '', ' , ', 'a'.repeat(300))) },
  );
  const authRequests: fc.Arbitrary<FuzzRequest> = fc.tuple(apiCall, authorization, ip, forwardedFor).map(([call, auth, remoteAddress, xff]) => ({
    method: call.method,
    url: call.url,
    headers: {
      ...(auth === undefined ? {} : { authorization: auth }),
      ...(call.payload ? { 'content-type': 'application/json' } : {}),
      ...(xff === undefined ? {} : { 'x-forwarded-for': xff }),
    },
    ...(call.payload ? { payload: call.payload } : {}),
    remoteAddress,
  }));

  // ---- paths ------------------------------------------------------------------------------------------
  const knownSegment = fc.constantFrom(
    'api', 'v1', ...RESOURCES, 'traces', 'api_keys', 'current', 'ping', 'workspaces', t.workspaceId, 'api-keys', t.victimKeyId,
    'members', t.memberUserId, 'rotate', 'secrets', t.victimSecretId, 'revoke', 'usage', 'audit-events', 'export', 'management-events',
    'anomalies', 'auth', 'me', 'login', 'logout', 'setup', 'scopes', 'docs', 'openapi.json', 'metrics', 'healthz', 'readyz', 'assets',
    'index.html', ...Object.values(t.recordIds),
  );
  const junkSegment = fc.oneof(
    fc.webSegment(),
    fc.constantFrom('..', '.', '%00', '%zz', '%ff', '%', '%2e%2e', '%2f', '%c0%ae', '%e2%80%ae', '%5c', ';', ';a=b', '~', '*', '%252e'),
    binary(40).map(encodeURIComponent),
    long(101, 5_000).map(encodeURIComponent),
  );
  const segment = fc.oneof({ weight: 3, arbitrary: knownSegment }, { weight: 2, arbitrary: junkSegment });
  const path = fc.oneof(
    fc.array(segment, { maxLength: 8 }).map((s) => `/${s.join('/')}`),
    fc.array(segment, { maxLength: 5 }).map((s) => `/api/v1/${s.join('/')}`),
    fc.array(segment, { maxLength: 5 }).map((s) => `/v1/workspaces/${t.workspaceId}/${s.join('/')}`),
    fc.constantFrom('//', '///api/v1/ping', '/api/v1/ping/', '/API/V1/PING', '/api/v1/ping?', '/api/v1/ping#x', '/api/v1/../v1/setup', '/%2e%2e/%2e%2e/etc/passwd'),
  );
  const pathRequests: fc.Arbitrary<FuzzRequest> = fc
    .record({
      method: fc.constantFrom(...METHODS),
      url: path,
      key: fc.boolean(),
      session: fc.boolean(),
      body: fc.option(body(junk), { nil: undefined }),
      remoteAddress: ip,
    })
    .map(({ method, url, key, session, body: payload, remoteAddress }) => ({
      method,
      url,
      // A session but never the CSRF token: paths may change nothing of the tenant the other runs rely on.
      headers: {
        ...(key ? { authorization: `Bearer ${t.liveSecret}` } : {}),
        ...(session ? { cookie: t.cookie } : {}),
        ...(payload !== undefined && method !== 'GET' && method !== 'HEAD' ? { 'content-type': 'application/json' } : {}),
      },
      ...(payload !== undefined && method !== 'GET' && method !== 'HEAD' ? { payload } : {}),
      remoteAddress,
    }));

  // ---- ids in paths -----------------------------------------------------------------------------------
  const ws = `/v1/workspaces/${t.workspaceId}`;
  // Every route with an id, its ids replaced by near misses of real ones, each of the wrong shape (a
  // well-formed unknown id is test/path-ids.test.ts's): every answer must be 404 (the shape check, before
  // the body is read) or 400 (the router: a segment over 100 characters, a malformed %-escape). Sent signed
  // in, with the CSRF token, or with the live key, so that they reach the id check.
  const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
  const outside = fc.oneof(
    fc.constantFrom('%00', '%0A', '%20', 'u', 'I', 'L', 'O', 'A', '-', '.', '%25', '%2F', encodeURIComponent('é'), encodeURIComponent('🔑'), encodeURIComponent('\u202e')),
    binary(4).filter((b) => b.length > 0 && [...b].some((c) => !ID_ALPHABET.includes(c))).map(encodeURIComponent),
  );
  const nearMiss = (real: string): fc.Arbitrary<string> => {
    const cut = real.indexOf('_');
    return fc.oneof(
      // One character replaced or inserted (NUL, unicode, outside the alphabet), anywhere.
      fc.tuple(fc.nat(real.length - 1), outside, fc.boolean()).map(([i, c, insert]) => real.slice(0, i) + c + real.slice(insert ? i : i + 1)),
      // The right body behind another prefix, or none.
      fc.constantFrom('ws', 'key', 'usr', 'sec', 'evt', 'tkt', 'conv', 'cont', 'whk', 'req', 'ses', 'x', '', 'WS', 'key_key').filter((p) => p !== real.slice(0, cut)).map((p) => `${p}_${real.slice(cut + 1)}`),
      // Too short, too long, upper case, trailing junk.
      fc.integer({ min: 1, max: real.length - 1 }).map((n) => real.slice(0, n)),
      fc.tuple(fc.integer({ min: 1, max: 80 }), fc.constantFrom(...ID_ALPHABET)).map(([n, c]) => real + c.repeat(n)),
      fc.constant(real.toUpperCase()),
      // Never `?`, `#` or `/`: the path would then still name the real object.
      fc.constantFrom('%00', '%2500', '%2F', '%3F', '.json', '%3Bx', '%20', '~').map((tail) => real + tail),
      // Long (past the router's 100 characters) and anything at all.
      long(101, 3_000).map(encodeURIComponent),
      binary(30).filter((b) => b !== real).map(encodeURIComponent),
      // A replacement can put back the very character it replaced (the `u` of `usr_` by `u`): that is the real id.
    ).filter((miss) => miss !== real);
  };
  const eventId = newId('evt');
  const wsId = nearMiss(t.workspaceId);
  /** A route with the methods it answers (another method is no route: its 404 comes after body parsing). */
  const route = (methods: string[], base: fc.Arbitrary<string>, key = false) =>
    fc.tuple(fc.constantFrom(...methods, ...(methods.includes('GET') ? ['HEAD'] : [])), base).map(([method, url]) => ({ method, url, key }));
  const workspaceRoutes: Array<[string[], string]> = [
    [['GET', 'POST'], 'api-keys'], [['GET', 'POST'], 'members'], [['GET'], 'audit-events'], [['GET'], 'audit-events/export'],
    [['GET'], 'management-events'], [['GET'], 'anomalies'], [['POST'], 'demo-data'],
  ];
  // The product API's routes with an id, as the app registers them (a read-only resource has GET only).
  const recordRoutes = API_ROUTES.filter((r) => r.url.includes(':id')).flatMap((r) => {
    const resource = r.url.split('/')[3] ?? '';
    const real = t.recordIds[resource];
    return real ? [route([r.method], nearMiss(real).map((bad) => r.url.replace(':id', bad)), true)] : [];
  });
  const idRoute = fc.oneof(
    ...workspaceRoutes.map(([methods, rest]) => route(methods, wsId.map((w) => `/v1/workspaces/${w}/${rest}`))),
    route(['GET', 'PATCH', 'DELETE'], nearMiss(t.victimKeyId).map((k) => `${ws}/api-keys/${k}`)),
    route(['POST'], nearMiss(t.victimKeyId).map((k) => `${ws}/api-keys/${k}/rotate`)),
    route(['GET'], nearMiss(t.victimKeyId).map((k) => `${ws}/api-keys/${k}/usage`)),
    route(['POST'], nearMiss(t.victimSecretId).map((s) => `${ws}/api-keys/${t.victimKeyId}/secrets/${s}/revoke`)),
    route(['PATCH', 'DELETE'], nearMiss(t.memberUserId).map((u) => `${ws}/members/${u}`)),
    route(['DELETE'], nearMiss(newId('inv')).map((i) => `${ws}/invitations/${i}`)),
    route(['GET'], nearMiss(eventId).map((e) => `${ws}/audit-events/${e}`)),
    ...recordRoutes,
  );
  const idPathRequests: fc.Arbitrary<FuzzRequest> = fc
    .tuple(idRoute, fc.option(body(junk), { nil: undefined, freq: 2 }), ip)
    .map(([{ method, url, key }, payload, remoteAddress]) => ({
      method,
      url,
      headers: {
        ...(key ? { authorization: `Bearer ${t.liveSecret}` } : { cookie: t.cookie, 'x-csrf-token': t.csrf }),
        ...(payload !== undefined && method !== 'GET' && method !== 'HEAD' ? { 'content-type': 'application/json' } : {}),
      },
      ...(payload !== undefined && method !== 'GET' && method !== 'HEAD' ? { payload } : {}),
      remoteAddress,
    }));

  // ---- query strings ----------------------------------------------------------------------------------
  const queryTarget = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...RESOURCES).map((r) => ({ url: `/api/v1/${r}`, key: true })) },
    { weight: 1, arbitrary: fc.constant({ url: `/api/v1/conversations/${t.recordIds.conversations}/traces`, key: true }) },
    {
      weight: 5,
      arbitrary: fc.constantFrom(`${ws}/api-keys`, `${ws}/audit-events`, `${ws}/management-events`, `${ws}/api-keys/${t.victimKeyId}/usage`, `${ws}/anomalies`, `${ws}/members`).map((url) => ({ url, key: false })),
    },
  );
  const paramName = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('limit', 'cursor', 'status', 'key_id', 'route', 'method', 'from', 'to', 'ip', 'days', 'format', 'action', 'actor') },
    { weight: 1, arbitrary: fc.constantFrom('limit[]', 'limit[0]', 'status[a]', '__proto__', 'constructor', 'hasOwnProperty', '', '%00', 'a.b') },
    { weight: 1, arbitrary: binary(20) },
  );
  const paramValue = fc.oneof(
    fc.constantFrom('1', '0', '-1', '100', '101', '1e400', '99999999999999999999999', '0x10', '1.5', 'NaN', 'Infinity', '-0', ' 5', '5 ', ''),
    fc.constantFrom('active', 'revoked', 'all', '4xx', '5XX', '429', '999', 'get', 'GET', 'csv', 'ndjson', 'json', '2026-05-01', '2026-02-31', '2026-05-01T09:30:00', '2026-05-01T09:30:00Z', '9999-12-31T23:59:59+14:00', '/api/v1/*', '*'),
    fc.integer().map(String),
    fc.double().map(String),
    fc.bigInt().map(String),
    binary(40),
    long(60, 3_000),
  );
  const encodeMaybe = (s: string, raw: boolean) => (raw ? s.replace(/[#&\s]/g, encodeURIComponent) : encodeURIComponent(s));
  const query = fc
    .array(fc.tuple(paramName, paramValue, fc.boolean()), { maxLength: 8 })
    .map((params) => params.map(([n, v, raw]) => `${encodeMaybe(n, raw)}=${encodeMaybe(v, raw)}`).join('&'));
  const queryRequests: fc.Arbitrary<FuzzRequest> = fc.tuple(queryTarget, query, ip).map(([target, q, remoteAddress]) => ({
    method: 'GET',
    url: `${target.url}?${q}`,
    headers: (target.key ? { authorization: `Bearer ${t.liveSecret}` } : { cookie: t.cookie }) as Record<string, string>,
    remoteAddress,
  }));

  // ---- product-API bodies -----------------------------------------------------------------------------
  const text = fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 30 }) }, { weight: 1, arbitrary: junk });
  const ref = fc.oneof(fc.constantFrom(...Object.values(t.recordIds)), text);
  const metadata = fc.oneof({ weight: 3, arbitrary: fc.dictionary(fc.string({ maxLength: 45 }), fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null), junk), { maxKeys: 60 }) }, { weight: 1, arbitrary: junk });
  const participant = fc.record({ id: fc.oneof(fc.constantFrom('p1', 'p2'), text), role: fc.oneof(fc.constantFrom('customer', 'agent', 'bot', 'system'), text), name: maybe(text), contact_id: maybe(ref), agent_id: maybe(ref) }, { requiredKeys: [] });
  const message = fc.record({ participant: fc.oneof(fc.constantFrom('p1', 'p2'), text), text: text, sent_at: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), text) }, { requiredKeys: [] });
  const transcript = fc.record(
    { external_id: maybe(text), channel: maybe(fc.oneof(fc.constantFrom('chat', 'email', 'voice'), text)), subject: maybe(text), participants: fc.oneof(fc.array(participant, { maxLength: 25 }), junk), messages: fc.oneof(fc.array(message, { maxLength: 30 }), junk), metadata: maybe(metadata) },
    { requiredKeys: [] },
  );
  const contact = fc.record({ email: maybe(fc.oneof(fc.emailAddress(), text)), external_id: maybe(text), name: maybe(text), phone: maybe(text), account_id: maybe(ref), metadata: maybe(metadata) }, { requiredKeys: [] });
  const anyFields = fc.dictionary(
    fc.oneof(fc.constantFrom('name', 'subject', 'description', 'status', 'priority', 'contact_id', 'conversation_id', 'assignee_agent_id', 'tags', 'metadata', 'url', 'events', 'enabled', 'title', 'body', 'domain', 'plan', 'rules', 'version'), fc.string({ maxLength: 10 })),
    fc.oneof(text, ref, fc.array(text, { maxLength: 25 }), metadata),
    { maxKeys: 8 },
  );
  const apiWrite = fc.oneof(
    fc.tuple(fc.constant('POST'), fc.constant('conversations'), body(fc.oneof(transcript, anyFields))),
    fc.tuple(fc.constant('POST'), fc.constant('contacts'), body(fc.oneof(contact, anyFields))),
    fc.tuple(fc.constant('POST'), fc.constantFrom(...WRITABLE), body(anyFields)),
    fc.tuple(fc.constantFrom('PATCH', 'DELETE'), fc.constantFrom(...WRITABLE), body(anyFields)),
  );
  const apiBodyRequests: fc.Arbitrary<FuzzRequest> = fc.tuple(apiWrite, contentType, ip).map(([[method, resource, payload], type, remoteAddress]) => ({
    method,
    url: method === 'POST' ? `/api/v1/${resource}` : `/api/v1/${resource}/${t.recordIds[resource] ?? 'rec_missing'}`,
    headers: { authorization: `Bearer ${t.liveSecret}`, ...(type ? { 'content-type': type } : {}) },
    payload,
    remoteAddress,
  }));

  // ---- management-API bodies --------------------------------------------------------------------------
  const scope = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...REFERENCE_PRODUCT.scopes.map((s) => s.scope)) }, { weight: 1, arbitrary: text });
  const limitValue = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(0, -1, 1001, 2 ** 31, 1.5, null, '60', 1e400), junk);
  const allowEntry = fc.oneof(fc.ipV4(), fc.ipV6(), fc.tuple(fc.ipV4(), fc.integer({ min: -1, max: 40 })).map(([a, p]) => `${a}/${p}`), fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 140 })).map(([a, p]) => `${a}/${p}`), text);
  const keyFields = fc.record(
    {
      name: maybe(text),
      mode: maybe(fc.oneof(mode, text)),
      scopes: maybe(fc.oneof(fc.array(scope, { maxLength: 40 }), junk)),
      rate_limit: maybe(fc.oneof(fc.record({ per_minute: maybe(limitValue), per_hour: maybe(limitValue) }, { requiredKeys: [] }), junk)),
      ip_allowlist: maybe(fc.oneof(fc.array(allowEntry, { maxLength: 110 }), junk)),
      meta: maybe(fc.oneof(fc.dictionary(fc.string({ maxLength: 30 }), junk, { maxKeys: 8 }), junk)),
      expires_at: maybe(fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), text, junk)),
      extra: maybe(junk),
    },
    { requiredKeys: [] },
  );
  const emailField = fc.oneof(fc.emailAddress(), text);
  // Rarely a valid password: each one is a scrypt hash (tens of milliseconds).
  const passwordField = fc.oneof({ weight: 1, arbitrary: fc.string({ minLength: 10, maxLength: 12 }) }, { weight: 12, arbitrary: fc.oneof(fc.string({ maxLength: 9 }), junk) });
  const roleField = fc.oneof(fc.constantFrom('owner', 'admin', 'member'), text);
  const keyId = fc.oneof({ weight: 4, arbitrary: fc.constant(t.victimKeyId) }, { weight: 1, arbitrary: junkSegment });
  const workspaceFields = fc.record(
    { name: maybe(text), external_id: maybe(fc.oneof(text, junk)), metadata: maybe(fc.oneof(fc.dictionary(fc.oneof(fc.string({ maxLength: 30 }), binary(20)), junk, { maxKeys: 8 }), junk)) },
    { requiredKeys: [] },
  );
  // Verify's body: real, revoked and made-up keys, requested scopes, a client address, what the call was, a cost.
  const verifyFields = fc.record(
    {
      key: maybe(fc.oneof(fc.constantFrom(t.liveSecret, t.testSecret, t.revokedSecret, ''), text, junk)),
      scopes: maybe(fc.oneof(fc.array(scope, { maxLength: 40 }), junk)),
      client_ip: maybe(fc.oneof(fc.ipV4(), fc.ipV6(), text, junk)),
      method: maybe(fc.oneof(fc.constantFrom('GET', 'POST', 'DELETE'), text)),
      path: maybe(fc.oneof(fc.constantFrom('/v1/contacts', '/'), text)),
      cost: maybe(fc.oneof(fc.integer({ min: 1, max: 100 }), limitValue)),
      extra: maybe(junk),
    },
    { requiredKeys: [] },
  );
  // Embedded key management: a link minted by the service key, and codes a browser might send to exchange.
  const mintFields = fc.record(
    {
      workspace_id: maybe(fc.oneof(fc.constant(t.workspaceId), text, junk)),
      user: maybe(fc.oneof(fc.record({ external_id: maybe(fc.oneof(text, junk)), email: maybe(emailField), name: maybe(fc.oneof(text, junk)) }, { requiredKeys: [] }), junk)),
      capabilities: maybe(fc.oneof(fc.array(fc.oneof(fc.constantFrom(...CAPABILITIES), text), { maxLength: 8 }), junk)),
      return_url: maybe(fc.oneof(fc.webUrl(), text, junk)),
      session_ttl_seconds: maybe(fc.oneof(fc.integer({ min: 0, max: 40_000 }), limitValue)),
      extra: maybe(junk),
    },
    { requiredKeys: [] },
  );
  const management = fc.oneof(
    fc.tuple(fc.constant('POST'), fc.constant('/v1/keys/verify'), body(verifyFields)),
    fc.tuple(fc.constant('POST'), fc.constant('/v1/embed/sessions'), body(mintFields)),
    fc.tuple(fc.constant('POST'), fc.constant('/v1/embed/exchange'), body(fc.record({ code: maybe(fc.oneof(text, junk)), extra: maybe(junk) }, { requiredKeys: [] }))),
    fc.tuple(fc.constant('POST'), fc.constant(`${ws}/api-keys`), body(keyFields)),
    fc.tuple(fc.constant('PATCH'), keyId.map((k) => `${ws}/api-keys/${k}`), body(keyFields)),
    fc.tuple(fc.constant('POST'), keyId.map((k) => `${ws}/api-keys/${k}/rotate`), fc.oneof(body(fc.record({ overlap_seconds: maybe(fc.oneof(fc.integer({ min: 0, max: 604_800 }), limitValue)) }, { requiredKeys: [] })), fc.constant(''))),
    fc.tuple(fc.constant('POST'), fc.oneof(fc.constant(t.victimSecretId), junkSegment).map((s) => `${ws}/api-keys/${t.victimKeyId}/secrets/${s}/revoke`), body(junk)),
    fc.tuple(fc.constant('DELETE'), junkSegment.map((k) => `${ws}/api-keys/${k}`), fc.constant('')),
    fc.tuple(fc.constant('POST'), fc.constant(`${ws}/members`), body(fc.record({ email: maybe(emailField), password: maybe(passwordField), role: maybe(roleField) }, { requiredKeys: [] }))),
    fc.tuple(fc.constant('PATCH'), fc.oneof(fc.constant(t.memberUserId), junkSegment).map((u) => `${ws}/members/${u}`), body(fc.record({ role: maybe(roleField) }, { requiredKeys: [] }))),
    fc.tuple(fc.constant('POST'), fc.constant('/v1/workspaces'), body(workspaceFields)),
    fc.tuple(fc.constant('PATCH'), fc.constant(ws), body(workspaceFields)),
    fc.tuple(fc.constant('POST'), fc.constant('/v1/setup'), body(fc.record({ email: maybe(emailField), password: maybe(passwordField), workspace_name: maybe(text) }, { requiredKeys: [] }))),
    fc.tuple(fc.constant('POST'), fc.constant('/v1/auth/login'), body(fc.record({ email: maybe(emailField), password: maybe(passwordField) }, { requiredKeys: [] }))),
  );
  const csrf = fc.oneof({ weight: 12, arbitrary: fc.constant(t.csrf) }, { weight: 1, arbitrary: fc.oneof(fc.constant(''), binary(50), fc.constant(t.csrf.slice(1))) });
  const managementRequests: fc.Arbitrary<FuzzRequest> = fc.tuple(management, contentType, csrf, fc.boolean()).map(([[method, url, payload], type, token, asService]) => ({
    method,
    url,
    headers: {
      ...((asService && (url === ws || url === '/v1/workspaces')) || url === '/v1/keys/verify' || url === '/v1/embed/sessions' ? { authorization: `Bearer ${t.serviceSecret}` } : { cookie: t.cookie, 'x-csrf-token': token }),
      ...(payload && type ? { 'content-type': type } : {}),
    },
    ...(payload ? { payload } : {}),
    // Sign-in attempts come from one address, whose failure budget then bounds the scrypt work of the run.
    remoteAddress: '198.51.100.250',
  }));

  return { authRequests, pathRequests, idPathRequests, queryRequests, apiBodyRequests, managementRequests };
}
