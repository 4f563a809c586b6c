import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { generateSecret } from '../src/keys/key-format.js';
import { atStartOfMinute, createKey, describeEachBackend, newTenant, serviceClient, type Client, type Harness, type Reply } from './harness.js';

const VERIFY = '/v1/keys/verify';

/** A call of the SaaS's own API as its backend checks it: the fields any test does not care about are filled in. */
function verify(client: Client, fields: Record<string, unknown>): Promise<Reply> {
  return client.post(VERIFY, { scopes: [], client_ip: '203.0.113.7', method: 'GET', path: '/v1/contacts', ...fields });
}

async function verifier(h: Harness) {
  return serviceClient(h, ['keys:verify']);
}

/** The audit event of one verify call, once the batched writer has written it. */
async function eventsOf(h: Harness, requestId: string) {
  for (let i = 0; i < 200; i++) {
    const rows = await h.db.selectFrom('audit_events').selectAll().where('request_id', '=', requestId).execute();
    if (rows.length > 0) {
      // Anything else for this request would be written in the same batch or the next one.
      await new Promise((resolve) => setTimeout(resolve, 300));
      return h.db.selectFrom('audit_events').selectAll().where('request_id', '=', requestId).execute();
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`no audit event for ${requestId}`);
}

/** Counts the SELECTs an app sends to storage (lookups of keys and service keys are all SELECTs). */
function selectCounter(): KyselyPlugin & { selects: number } {
  return {
    selects: 0,
    transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
      if (args.node.kind === 'SelectQueryNode') this.selects++;
      return args.node;
    },
    async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      return args.result;
    },
  };
}

describeEachBackend('POST /v1/keys/verify', (harness) => {
  it('answers valid with the key, its workspace, scopes and rate limit, and never the secret but as its prefix', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    await h.db.updateTable('workspaces').set({ external_id: `acme-${tenant.workspaceId}` }).where('id', '=', tenant.workspaceId).execute();
    const expiresAt = new Date(h.clock.now.getTime() + 86_400_000).toISOString();
    const key = (await createKey(tenant, { scopes: ['contacts:read', 'contacts:write'], meta: { customer: 'cus_42' }, expires_at: expiresAt })).body;
    const back = atStartOfMinute(h);
    try {
      const reply = await verify(await verifier(h), { key: key.secret, scopes: ['contacts:write'], method: 'POST', cost: 1 });
      assert.equal(reply.status, 200, reply.raw);
      const { rate_limit: rateLimit, request_id: requestId, ...rest } = reply.body;
      assert.deepEqual(rest, {
        valid: true,
        code: 'valid',
        message: rest.message,
        key: { id: key.id, name: 'crm-sync', mode: 'live', prefix: `${key.secret.slice(0, 12)}…`, meta: { customer: 'cus_42' }, expires_at: expiresAt, secret_version: 1 },
        workspace: { id: tenant.workspaceId, external_id: `acme-${tenant.workspaceId}` },
        scopes: ['contacts:read', 'contacts:write'],
        missing_scopes: [],
        retry_after: null,
      });
      assert.deepEqual([rateLimit.limit, rateLimit.remaining], [60, 59]);
      assert.ok(Number.isInteger(rateLimit.reset) && rateLimit.reset * 1000 > h.clock.now.getTime());
      assert.match(requestId, /^req_/);
      assert.equal(reply.headers['request-id'], requestId);
      assert.ok(!reply.raw.includes(key.secret), 'the secret is not in the answer');
      assert.ok(!reply.raw.includes(key.secret.slice(12, 30)), 'nor any of its random part beyond the prefix');
    } finally {
      back();
    }
  });

  it('answers every refusal of /api/v1 with its code, in the same order', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const svc = await verifier(h);
    const code = async (fields: Record<string, unknown>) => {
      const reply = await verify(svc, fields);
      assert.equal(reply.status, 200, reply.raw);
      assert.equal(reply.body.valid, reply.body.code === 'valid');
      return reply.body;
    };

    // Not a key we know: no key in the answer.
    for (const [name, key, expected] of [
      ['none', '', 'missing_api_key'],
      ['malformed', 'lk_live_not-a-key', 'invalid_api_key'],
      ['well-formed but unknown', generateSecret('lk', 'live'), 'invalid_api_key'],
    ] as const) {
      const body = await code({ key });
      assert.deepEqual([body.code, body.key, body.rate_limit, body.retry_after], [expected, undefined, undefined, null], name);
    }

    // Revoked beats everything after it: the IP is wrong too.
    const revoked = (await createKey(tenant, { ip_allowlist: ['192.0.2.0/24'] })).body;
    await tenant.client.delete(`${tenant.keys}/${revoked.id}`);
    const revokedBody = await code({ key: revoked.secret });
    assert.deepEqual([revokedBody.code, revokedBody.key?.id, revokedBody.rate_limit], ['api_key_revoked', revoked.id, undefined]);

    // Expired: the key's own end, and a rotated-out secret past its overlap.
    const expiring = (await createKey(tenant, { expires_at: new Date(h.clock.now.getTime() + 30_000).toISOString(), ip_allowlist: ['192.0.2.0/24'] })).body;
    const rotatedOut = (await createKey(tenant)).body;
    await tenant.client.post(`${tenant.keys}/${rotatedOut.id}/rotate`, { overlap_seconds: 10 });
    assert.equal((await code({ key: rotatedOut.secret })).code, 'valid', 'within the overlap');
    h.clock.advance(31);
    try {
      const expired = await code({ key: expiring.secret });
      assert.deepEqual([expired.code, expired.key?.id, expired.rate_limit], ['api_key_expired', expiring.id, undefined], 'expired before the IP check');
      const old = await code({ key: rotatedOut.secret });
      assert.deepEqual([old.code, old.key?.secret_version], ['api_key_expired', 1]);
    } finally {
      h.clock.advance(-31);
    }

    // The allowlist is checked against client_ip, before the rate limit (nothing counted).
    const fenced = (await createKey(tenant, { ip_allowlist: ['203.0.113.0/24'], rate_limit: { per_minute: 10 } })).body;
    const outside = await code({ key: fenced.secret, client_ip: '198.51.100.1' });
    assert.deepEqual([outside.code, outside.key?.id, outside.rate_limit], ['ip_not_allowed', fenced.id, undefined]);
    assert.match(outside.message, /198\.51\.100\.1/);

    const back = atStartOfMinute(h);
    try {
      // The rate limit, with cost: 7 fit, 4 more do not (and take nothing), 3 do.
      assert.equal((await code({ key: fenced.secret, cost: 7 })).rate_limit.remaining, 3);
      const limited = await code({ key: fenced.secret, cost: 4, scopes: ['tickets:write'] });
      assert.deepEqual([limited.code, limited.rate_limit.limit, limited.rate_limit.remaining], ['rate_limited', 10, 3], 'rate limited before the scope is looked at');
      assert.ok(limited.retry_after >= 1 && limited.retry_after <= 60, String(limited.retry_after));
      assert.equal((await code({ key: fenced.secret, cost: 3 })).rate_limit.remaining, 0);

      // Scopes last: every one requested is required.
      const scoped = (await createKey(tenant, { scopes: ['contacts:read', 'tickets:read'] })).body;
      const missing = await code({ key: scoped.secret, scopes: ['contacts:read', 'tickets:write', 'contacts:write'] });
      assert.deepEqual([missing.code, missing.missing_scopes, missing.scopes, missing.rate_limit.remaining], ['insufficient_scope', ['tickets:write', 'contacts:write'], ['contacts:read', 'tickets:read'], 59]);
      assert.match(missing.message, /tickets:write/);
      assert.equal((await code({ key: scoped.secret, scopes: ['contacts:read', 'tickets:read'] })).code, 'valid');
      assert.equal((await code({ key: scoped.secret })).code, 'valid', 'no scope asked: any valid key');
    } finally {
      back();
    }
  });

  it('counts unknown keys against client_ip: past its budget, rate_limited with retry_after and no lookup', async () => {
    const h = harness();
    const svc = await verifier(h);
    const codes: string[] = [];
    for (let i = 0; i < 32; i++) codes.push((await verify(svc, { key: generateSecret('lk', 'live'), client_ip: '198.51.100.77' })).body.code);
    assert.deepEqual(codes.slice(0, 30), Array(30).fill('invalid_api_key'));
    assert.deepEqual(codes.slice(30), ['rate_limited', 'rate_limited']);
    const blocked = (await verify(svc, { key: '', client_ip: '198.51.100.77' })).body;
    assert.ok(blocked.retry_after >= 1, JSON.stringify(blocked));
    assert.equal((await verify(svc, { key: '', client_ip: '198.51.100.78' })).body.code, 'missing_api_key', 'another client is untouched');
  });

  it('sees a revocation at once, and shares one rate limit with /api/v1', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const svc = await verifier(h);
    const key = (await createKey(tenant, { rate_limit: { per_minute: 5 } })).body;
    const back = atStartOfMinute(h);
    try {
      assert.equal((await verify(svc, { key: key.secret, cost: 2 })).body.rate_limit.remaining, 3);
      const api = await h.app.inject({ url: '/api/v1/conversations', headers: { authorization: `Bearer ${key.secret}` }, remoteAddress: '203.0.113.7' });
      assert.equal(api.headers['x-ratelimit-remaining'], '2', '/api/v1 counts in the same bucket');
      assert.equal((await verify(svc, { key: key.secret })).body.code, 'valid', 'cached now');
      await tenant.client.delete(`${tenant.keys}/${key.id}`);
      assert.equal((await verify(svc, { key: key.secret })).body.code, 'api_key_revoked');
    } finally {
      back();
    }
  });

  it('answers a cached key without touching storage', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    const counter = selectCounter();
    // An app of its own over the same database, every query it sends counted; "last used" written rarely.
    const app = await buildApp({ config: h.config, db: h.db.withPlugin(counter), logger: pino({ level: 'silent' }), now: () => h.clock.now, usageFlushMs: 600_000 });
    try {
      await app.ready();
      const { secret } = await serviceClient(h, ['keys:verify']);
      const call = () =>
        app.inject({ method: 'POST', url: VERIFY, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, payload: JSON.stringify({ key: key.secret, client_ip: '203.0.113.7' }) });
      const before = counter.selects;
      assert.equal((await call()).json().code, 'valid');
      assert.ok(counter.selects - before >= 2, 'the first call looks up the service key and the API key');
      const warm = counter.selects;
      for (let i = 0; i < 20; i++) assert.equal((await call()).json().code, 'valid');
      assert.equal(counter.selects - warm, 0, 'no query for a cached key (and a cached service key)');
    } finally {
      await app.close();
    }
  });

  it('records one audit event per call, as the call it checked, and updates "last used"', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const svc = await verifier(h);
    const key = (await createKey(tenant, { scopes: ['contacts:read'], mode: 'test' })).body;
    const valid = await svc.request('POST', VERIFY, { key: key.secret, scopes: ['contacts:read'], client_ip: '203.0.113.9', method: 'get', path: '/v1/contacts?limit=5' }, { 'user-agent': 'saas-backend/1.0' });
    assert.equal(valid.body.code, 'valid');
    const [event, ...more] = await eventsOf(h, valid.body.request_id);
    assert.equal(more.length, 0, 'exactly one event: the service key\'s own request adds none');
    assert.deepEqual(
      {
        workspace_id: event!.workspace_id,
        mode: event!.mode,
        key_id: event!.key_id,
        key_name: event!.key_name,
        secret_version: event!.secret_version,
        method: event!.method,
        route: event!.route,
        path: event!.path,
        status: event!.status,
        source_ip: event!.source_ip,
        error_code: event!.error_code,
        scope: event!.scope,
        user_agent: event!.user_agent,
      },
      {
        workspace_id: tenant.workspaceId,
        mode: 'test',
        key_id: key.id,
        key_name: 'crm-sync',
        secret_version: 1,
        method: 'GET',
        route: VERIFY,
        path: '/v1/contacts',
        status: 200,
        source_ip: '203.0.113.9',
        error_code: null,
        scope: 'contacts:read',
        user_agent: null,
      },
    );
    const payload = await h.db.selectFrom('audit_payloads').select('payload').where('event_id', '=', event!.id).executeTakeFirst();
    assert.deepEqual(payload?.payload, { query: { limit: ['5'] }, body: null }, 'the checked call\'s query; never the verify body, which holds the key');

    const refused = await verify(svc, { key: key.secret, scopes: ['contacts:write'], client_ip: '203.0.113.9' });
    const [refusal] = await eventsOf(h, refused.body.request_id);
    assert.deepEqual([refusal!.status, refusal!.error_code, refusal!.key_id, refusal!.route], [403, 'insufficient_scope', key.id, VERIFY]);
    const unknown = await verify(svc, { key: generateSecret('lk', 'live') });
    const [stranger] = await eventsOf(h, unknown.body.request_id);
    assert.deepEqual([stranger!.status, stranger!.error_code, stranger!.key_id, stranger!.workspace_id], [401, 'invalid_api_key', null, null]);
    const all = await h.db.selectFrom('audit_events').select('id').where('key_id', '=', key.id).execute();
    assert.equal(all.length, 2, 'one event per verify call of the key');
    const stored = JSON.stringify(await h.db.selectFrom('audit_events').selectAll().where('request_id', 'in', [valid.body.request_id, refused.body.request_id, unknown.body.request_id]).execute());
    assert.ok(!stored.includes(key.secret) && !stored.includes(svc.secret), 'no secret in the audit log');

    let shown = (await tenant.client.get(`${tenant.keys}/${key.id}`)).body;
    for (let i = 0; i < 40 && shown.last_used_at === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      shown = (await tenant.client.get(`${tenant.keys}/${key.id}`)).body;
    }
    assert.deepEqual([shown.last_used_at !== null, shown.last_used_ip], [true, '203.0.113.9']);
  });

  it('is for service keys holding keys:verify: a bad key 401, a missing permission 403, a session 401', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = (await createKey(tenant)).body;
    const body = { key: key.secret, client_ip: '203.0.113.7' };

    const forged = await serviceClient(h, ['keys:verify']);
    forged.bearer = `${forged.secret.slice(0, -1)}${forged.secret.endsWith('a') ? 'b' : 'a'}`;
    const bad = await forged.post(VERIFY, body);
    assert.deepEqual([bad.status, bad.body.error.code], [401, 'invalid_service_key']);
    const apiKeyAsServiceKey = await forged.request('POST', VERIFY, body, { authorization: `Bearer ${key.secret}` });
    assert.deepEqual([apiKeyAsServiceKey.status, apiKeyAsServiceKey.body.error.code], [401, 'invalid_service_key']);

    const reader = await serviceClient(h, ['keys:read', 'keys:write']);
    const denied = await reader.post(VERIFY, body);
    assert.deepEqual([denied.status, denied.body.error.code], [403, 'insufficient_permission']);
    assert.match(denied.body.error.message, /keys:verify/);

    const session = await tenant.client.post(VERIFY, body);
    assert.deepEqual([session.status, session.body.error.code], [401, 'not_authenticated'], 'a signed-in person cannot call it');
    for (const reply of [bad, apiKeyAsServiceKey, denied, session]) assert.ok(!reply.raw.includes(key.secret));
  });

  it('refuses a malformed body with 400 and the field at fault, and counts nothing', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const svc = await verifier(h);
    const key = (await createKey(tenant, { rate_limit: { per_minute: 5 } })).body;
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['no key', { client_ip: '203.0.113.7' }, 'key'],
      ['key not a string', { key: 42, client_ip: '203.0.113.7' }, 'key'],
      ['no client_ip', { key: key.secret }, 'client_ip'],
      ['client_ip not an address', { key: key.secret, client_ip: 'localhost' }, 'client_ip'],
      ['unknown scope', { key: key.secret, client_ip: '203.0.113.7', scopes: ['contacts:read', 'billing:read'] }, 'scopes.1'],
      ['cost 0', { key: key.secret, client_ip: '203.0.113.7', cost: 0 }, 'cost'],
      ['cost not whole', { key: key.secret, client_ip: '203.0.113.7', cost: 1.5 }, 'cost'],
      ['path not a path', { key: key.secret, client_ip: '203.0.113.7', path: 'contacts' }, 'path'],
      ['method not a method', { key: key.secret, client_ip: '203.0.113.7', method: 'GET /x' }, 'method'],
      ['unknown field', { key: key.secret, client_ip: '203.0.113.7', secret: 'x' }, 'secret'],
    ];
    const back = atStartOfMinute(h);
    try {
      for (const [name, body, param] of cases) {
        const reply = await svc.post(VERIFY, body);
        assert.equal(reply.status, 400, `${name}: ${reply.raw}`);
        assert.deepEqual([reply.body.error.code, reply.body.error.param], ['invalid_request', param], name);
        assert.ok(!reply.raw.includes(key.secret), `${name}: the key is not echoed`);
      }
      const notJson = await svc.request('POST', VERIFY, '{"key":', {});
      assert.deepEqual([notJson.status, notJson.body.error.code], [400, 'invalid_request']);
      const logs = h.logs.join('');
      assert.ok(!logs.includes(key.secret) && !logs.includes(svc.secret), 'no secret in the logs');
      assert.equal((await verify(svc, { key: key.secret })).body.rate_limit.remaining, 4, 'no refused body took from the rate limit');
    } finally {
      back();
    }
  });

  it("does not reveal keys outside the service key's workspaces", async () => {
    const h = harness();
    const mine = await newTenant(h);
    const theirs = await newTenant(h);
    const limited = await serviceClient(h, ['keys:verify'], [mine.workspaceId]);
    const own = (await createKey(mine)).body;
    const other = (await createKey(theirs)).body;
    assert.equal((await verify(limited, { key: own.secret })).body.code, 'valid');
    const hidden = (await verify(limited, { key: other.secret })).body;
    assert.deepEqual([hidden.code, hidden.key, hidden.workspace, hidden.rate_limit], ['invalid_api_key', undefined, undefined, undefined]);
    assert.equal((await verify(await verifier(h), { key: other.secret })).body.code, 'valid', 'an unlimited service key sees it');
  });

  it('is documented in /openapi.json with its body and answer', async () => {
    const h = harness();
    const doc = (await h.app.inject({ url: '/openapi.json' })).json();
    const op = doc.paths[VERIFY].post;
    assert.deepEqual(op.security, [{ serviceKey: [] }]);
    assert.ok(doc.components.securitySchemes.serviceKey);
    const body = op.requestBody.content['application/json'].schema;
    assert.deepEqual([...body.required].sort(), ['client_ip', 'key']);
    assert.ok(body.properties.cost && body.properties.scopes && body.properties.method && body.properties.path);
    const answer = op.responses['200'].content['application/json'].schema;
    for (const field of ['valid', 'code', 'key', 'workspace', 'scopes', 'missing_scopes', 'rate_limit', 'retry_after', 'request_id']) assert.ok(answer.properties[field], field);
    assert.ok(answer.properties.code.enum.includes('insufficient_scope'));
  });
});
