import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { ERRORS, type ErrorCode } from '../src/http/errors.js';
import {
  Client,
  PASSWORD,
  createKey,
  describeEachBackend,
  newTenant,
  uniqueEmail,
  type Harness,
  type Reply,
  type Tenant,
} from './harness.js';
import { inviteAndJoin } from './invite.js';

/**
 * Bad input, everywhere: a client's mistake answers 4xx (400 invalid_request almost always) with the field
 * in `param` and a sentence that names it — never a 500. One table, each row one request, run on both backends.
 */

type Route =
  | 'POST /v1/setup'
  | 'POST /v1/auth/login'
  | 'POST /v1/workspaces'
  | 'GET /v1/workspaces/{workspace_id}/api-keys'
  | 'POST /v1/workspaces/{workspace_id}/api-keys'
  | 'PATCH /v1/workspaces/{workspace_id}/api-keys/{key_id}'
  | 'POST /v1/workspaces/{workspace_id}/api-keys/{key_id}/rotate'
  | 'POST /v1/workspaces/{workspace_id}/members'
  | 'PATCH /v1/workspaces/{workspace_id}/members/{user_id}';

/** Setup and login answer without a session; every other route is called by a signed-in Owner. */
const PUBLIC_ROUTES: ReadonlySet<Route> = new Set(['POST /v1/setup', 'POST /v1/auth/login']);

interface Row {
  what: string;
  route: Route;
  query?: string;
  /** An object is sent as JSON; a string is sent as it is (malformed JSON, other content types). */
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: ErrorCode;
  /** The field named in error.param; a RegExp where several fields are acceptable (the fuzz rows). */
  param: string | RegExp | undefined;
  message: RegExp;
}

const SETUP: Route = 'POST /v1/setup';
const LOGIN: Route = 'POST /v1/auth/login';
const NEW_WORKSPACE: Route = 'POST /v1/workspaces';
const LIST_KEYS: Route = 'GET /v1/workspaces/{workspace_id}/api-keys';
const CREATE_KEY: Route = 'POST /v1/workspaces/{workspace_id}/api-keys';
const UPDATE_KEY: Route = 'PATCH /v1/workspaces/{workspace_id}/api-keys/{key_id}';
const ROTATE_KEY: Route = 'POST /v1/workspaces/{workspace_id}/api-keys/{key_id}/rotate';
const ADD_MEMBER: Route = 'POST /v1/workspaces/{workspace_id}/members';
const CHANGE_ROLE: Route = 'PATCH /v1/workspaces/{workspace_id}/members/{user_id}';

/** Above the 64 KiB management body limit, and valid JSON: only its size is wrong. */
const OVERSIZED = JSON.stringify({ name: 'crm-sync', scopes: ['conversations:read'], padding: 'x'.repeat(64 * 1024) });
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const XML = { 'content-type': 'application/xml' };
const NOT_JSON = /not valid JSON/;
const TOO_LARGE = /larger than this route's limit of 64 KiB/;
const SEND_JSON = /Content-Type: application\/json/;
/** "must be a int" today; "an integer" or "a whole number" would read better, and still pass. */
const WHOLE_NUMBER = /\b(int|integer|whole number)\b/;

/** A valid key-creation body with some fields replaced. */
function key(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'crm-sync', scopes: ['conversations:read'], ...fields };
}

function bad(what: string, route: Route, body: unknown, param: Row['param'], message: RegExp, extra: Partial<Row> = {}): Row {
  return { what, route, body, status: 400, code: 'invalid_request', param, message, ...extra };
}

const KEY_CREATION: Row[] = [
  bad('an unknown scope is named, with its index', CREATE_KEY, key({ scopes: ['conversations:read', 'nope:x'] }), 'scopes.1', /Unknown scope: nope:x\b/),
  bad('a CIDR with a prefix above /32 is named, with its index', CREATE_KEY, key({ ip_allowlist: ['10.0.0.0/8', '10.0.0.0/33'] }), 'ip_allowlist.1', /"10\.0\.0\.0\/33".*prefix length above \/32/),
  bad('an allowlist entry that is not an address is named', CREATE_KEY, key({ ip_allowlist: ['banana'] }), 'ip_allowlist.0', /"banana" is not an IP address or CIDR range/),
  bad('per_minute above the workspace ceiling says the ceiling', CREATE_KEY, key({ rate_limit: { per_minute: 1001 } }), 'rate_limit.per_minute', /per_minute can be at most 1000\b.*ceiling/),
  bad('per_hour above the workspace ceiling says the ceiling', CREATE_KEY, key({ rate_limit: { per_hour: 60_001 } }), 'rate_limit.per_hour', /per_hour can be at most 60000\b.*ceiling/),
  bad('per_minute of 0', CREATE_KEY, key({ rate_limit: { per_minute: 0 } }), 'rate_limit.per_minute', /rate_limit\.per_minute must be at least 1\b/),
  bad('per_minute too large for a JSON number (Infinity)', CREATE_KEY, '{"name":"crm-sync","scopes":["conversations:read"],"rate_limit":{"per_minute":1e400}}', 'rate_limit.per_minute', /rate_limit\.per_minute must be a number/),
  bad('no rate window at all (per_minute: null)', CREATE_KEY, key({ rate_limit: { per_minute: null } }), 'rate_limit', /per_minute, per_hour or both/),
  bad('no rate window at all (rate_limit: {})', CREATE_KEY, key({ rate_limit: {} }), 'rate_limit', /per_minute, per_hour or both/),
  bad('an unknown rate window', CREATE_KEY, key({ rate_limit: { per_day: 5 } }), 'rate_limit.per_day', /Unknown field: rate_limit\.per_day/),
  bad('an empty name', CREATE_KEY, key({ name: '' }), 'name', /name must not be empty/),
  bad('a whitespace-only name', CREATE_KEY, key({ name: '   ' }), 'name', /name must not be empty/),
  bad('a name of 101 characters', CREATE_KEY, key({ name: 'x'.repeat(101) }), 'name', /name must be at most 100 characters/),
  bad('a name of 101 emoji (characters, not UTF-16 units)', CREATE_KEY, key({ name: '🔑'.repeat(101) }), 'name', /name must be at most 100 characters/),
  bad('a name that is a number', CREATE_KEY, key({ name: 42 }), 'name', /name must be a string/),
  bad('no name', CREATE_KEY, { scopes: ['conversations:read'] }, 'name', /name is required/),
  bad('scopes that are not an array', CREATE_KEY, key({ scopes: 'conversations:read' }), 'scopes', /scopes must be a list/),
  bad('empty scopes', CREATE_KEY, key({ scopes: [] }), 'scopes', /scope.*at least (1|one)\b|at least (1|one) scope/i),
  bad('more scopes than any catalog could hold', CREATE_KEY, key({ scopes: Array(1001).fill('conversations:read') }), 'scopes', /scopes must be at most 1000 items/),
  bad('a scope of 65 characters', CREATE_KEY, key({ scopes: ['s'.repeat(65)] }), 'scopes.0', /scopes\.0 must be at most 64 characters/),
  bad('too many allowlist entries', CREATE_KEY, key({ ip_allowlist: Array(101).fill('10.0.0.1') }), 'ip_allowlist', /ip_allowlist must be at most 100 items/),
  bad('an allowlist entry of 65 characters', CREATE_KEY, key({ ip_allowlist: ['1'.repeat(65)] }), 'ip_allowlist.0', /ip_allowlist\.0 must be at most 64 characters/),
  bad('an unknown extra field is named', CREATE_KEY, key({ colour: 'red' }), 'colour', /Unknown field: colour/),
  bad('mode "prod"', CREATE_KEY, key({ mode: 'prod' }), 'mode', /mode must be one of: live, test/),
  bad('malformed JSON', CREATE_KEY, '{"name":', 'body', NOT_JSON),
  bad('a __proto__ key (prototype poisoning)', CREATE_KEY, '{"__proto__":{"admin":true},"name":"crm-sync","scopes":["conversations:read"]}', 'body', NOT_JSON),
  bad('a JSON array instead of an object', CREATE_KEY, '[]', 'body', /body must be an object/),
  bad('JSON null', CREATE_KEY, 'null', 'body', /body must be an object/),
  bad('an empty JSON body', CREATE_KEY, '', 'body', /body/),
  { what: 'a body over the 64 KiB limit', route: CREATE_KEY, body: OVERSIZED, status: 413, code: 'payload_too_large', param: undefined, message: TOO_LARGE },
  { what: 'a form-encoded body', route: CREATE_KEY, body: 'name=crm-sync', headers: FORM, status: 415, code: 'unsupported_media_type', param: undefined, message: SEND_JSON },
  bad('a NUL character in the name', CREATE_KEY, key({ name: 'a\u0000b' }), 'name', /name must not contain control characters/),
  bad('a lone surrogate in the name', CREATE_KEY, '{"name":"a\\ud800b","scopes":["conversations:read"]}', 'name', /name must not contain control characters or invalid Unicode/),
  bad('a NUL character in a workspace name', NEW_WORKSPACE, { name: 'a\u0000' }, 'name', /control characters/),
  { what: 'a text/plain body, even valid JSON', route: CREATE_KEY, body: JSON.stringify(key({})), headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type', param: undefined, message: SEND_JSON },
  { what: 'an XML body', route: CREATE_KEY, body: '<key/>', headers: XML, status: 415, code: 'unsupported_media_type', param: undefined, message: SEND_JSON },
];

const KEY_UPDATE: Row[] = [
  bad('an unknown scope is named', UPDATE_KEY, { scopes: ['bogus'] }, 'scopes.0', /Unknown scope: bogus\b/),
  bad('an address out of range is named, with its index', UPDATE_KEY, { ip_allowlist: ['1.2.3.4', '300.1.1.1'] }, 'ip_allowlist.1', /"300\.1\.1\.1" is not an IP address/),
  bad('per_minute above the ceiling says the ceiling', UPDATE_KEY, { rate_limit: { per_minute: 5000 } }, 'rate_limit.per_minute', /at most 1000\b.*ceiling/),
  bad('per_hour above the ceiling says the ceiling', UPDATE_KEY, { rate_limit: { per_hour: 1_000_000 } }, 'rate_limit.per_hour', /at most 60000\b.*ceiling/),
  bad('clearing both rate windows', UPDATE_KEY, { rate_limit: { per_minute: null, per_hour: null } }, 'rate_limit', /per_minute, per_hour or both/),
  bad('an empty name', UPDATE_KEY, { name: '' }, 'name', /name must not be empty/),
  bad('a name of 101 characters', UPDATE_KEY, { name: 'n'.repeat(101) }, 'name', /at most 100 characters/),
  bad('a null name', UPDATE_KEY, { name: null }, 'name', /name must be a string/),
  bad('empty scopes', UPDATE_KEY, { scopes: [] }, 'scopes', /scope.*at least (1|one)\b|at least (1|one) scope/i),
  bad('mode cannot be changed: an unknown field', UPDATE_KEY, { mode: 'test' }, 'mode', /Unknown field: mode/),
  bad('malformed JSON', UPDATE_KEY, '{', 'body', NOT_JSON),
  { what: 'a body over the 64 KiB limit', route: UPDATE_KEY, body: OVERSIZED, status: 413, code: 'payload_too_large', param: undefined, message: TOO_LARGE },
];

const ROTATION: Row[] = [
  bad('a negative overlap', ROTATE_KEY, { overlap_seconds: -1 }, 'overlap_seconds', /overlap_seconds must be at least 0\b/),
  bad('an overlap above 7 days', ROTATE_KEY, { overlap_seconds: 604_801 }, 'overlap_seconds', /overlap_seconds must be at most 604800\b/),
  bad('a fractional overlap', ROTATE_KEY, { overlap_seconds: 1.5 }, 'overlap_seconds', WHOLE_NUMBER),
  bad('an overlap as a string', ROTATE_KEY, { overlap_seconds: '60' }, 'overlap_seconds', /overlap_seconds must be a number/),
  bad('an unknown field', ROTATE_KEY, { overlap: 60 }, 'overlap', /Unknown field: overlap/),
  bad('malformed JSON', ROTATE_KEY, '{"overlap_seconds":}', 'body', NOT_JSON),
];

const LISTING: Row[] = [
  bad('an unknown status', LIST_KEYS, undefined, 'status', /status must be one of: active, revoked, all/, { query: '?status=bogus' }),
  bad('limit=0', LIST_KEYS, undefined, 'limit', /limit must be at least 1\b/, { query: '?limit=0' }),
  bad('limit=1000', LIST_KEYS, undefined, 'limit', /limit must be at most 100\b/, { query: '?limit=1000' }),
  bad('limit that is not a number', LIST_KEYS, undefined, 'limit', /limit must be a number/, { query: '?limit=abc' }),
  bad('a fractional limit', LIST_KEYS, undefined, 'limit', WHOLE_NUMBER, { query: '?limit=1.5' }),
  bad('a cursor of 65 characters', LIST_KEYS, undefined, 'cursor', /cursor must be at most 64 characters/, { query: `?cursor=${'c'.repeat(65)}` }),
];

const ACCOUNTS: Row[] = [
  bad('setup: a bad email (validated before the installation is checked)', SETUP, { email: 'not-an-email', password: PASSWORD, workspace_name: 'Acme' }, 'email', /email is not a valid email/),
  bad('setup: a short password', SETUP, { email: uniqueEmail(), password: 'short', workspace_name: 'Acme' }, 'password', /password must be at least 10 characters/),
  bad('setup: an empty workspace name', SETUP, { email: uniqueEmail(), password: PASSWORD, workspace_name: '' }, 'workspace_name', /workspace_name must not be empty/),
  bad('setup: an unknown field', SETUP, { email: uniqueEmail(), password: PASSWORD, workspace_name: 'Acme', plan: 'pro' }, 'plan', /Unknown field: plan/),
  bad('setup: malformed JSON', SETUP, '{"email":', 'body', NOT_JSON),
  { what: 'setup: a body over the 64 KiB limit', route: SETUP, body: OVERSIZED, status: 413, code: 'payload_too_large', param: undefined, message: TOO_LARGE },
  // The control row: once the body is valid, an installation that is set up answers 409, not 400.
  { what: 'setup: a valid body once set up', route: SETUP, body: { email: uniqueEmail(), password: PASSWORD, workspace_name: 'Acme' }, status: 409, code: 'already_set_up', param: undefined, message: /already set up/ },
  bad('login: a bad email', LOGIN, { email: 'nope', password: PASSWORD }, 'email', /email is not a valid email/),
  bad('login: an empty password', LOGIN, { email: uniqueEmail(), password: '' }, 'password', /password must not be empty/),
  bad('login: a password that is a number', LOGIN, { email: uniqueEmail(), password: 1234567890 }, 'password', /password must be a string/),
  bad('login: a password over 200 characters', LOGIN, { email: uniqueEmail(), password: 'p'.repeat(201) }, 'password', /password must be at most 200 characters/),
  bad('login: an unknown field', LOGIN, { email: uniqueEmail(), password: PASSWORD, remember_me: true }, 'remember_me', /Unknown field: remember_me/),
  bad('login: an empty JSON body', LOGIN, '', 'body', /body/),
  { what: 'login: a form-encoded body', route: LOGIN, body: 'email=a%40b.io', headers: FORM, status: 415, code: 'unsupported_media_type', param: undefined, message: SEND_JSON },
  bad('workspace: an empty name', NEW_WORKSPACE, { name: '' }, 'name', /name must not be empty/),
  bad('workspace: a whitespace-only name', NEW_WORKSPACE, { name: ' \t ' }, 'name', /name must not be empty/),
  bad('workspace: a name of 101 characters', NEW_WORKSPACE, { name: 'w'.repeat(101) }, 'name', /name must be at most 100 characters/),
  bad('workspace: a name that is a number', NEW_WORKSPACE, { name: 7 }, 'name', /name must be a string/),
  bad('workspace: no name', NEW_WORKSPACE, {}, 'name', /name is required/),
  bad('member: a bad email', ADD_MEMBER, { email: 'not-an-email', role: 'admin' }, 'email', /email is not a valid email/),
  bad('member: an email over 254 characters', ADD_MEMBER, { email: `${'a'.repeat(250)}@x.io`, role: 'admin' }, 'email', /email must be at most 254 characters/),
  bad('member: role "superuser"', ADD_MEMBER, { email: uniqueEmail(), role: 'superuser' }, 'role', /role must be one of: owner, admin, member/),
  // People join by invitation: an Admin no longer sets anyone's password.
  bad('member: a password', ADD_MEMBER, { email: uniqueEmail('new'), password: PASSWORD, role: 'admin' }, 'password', /Unknown field: password/),
  bad('member: an unknown field', ADD_MEMBER, { email: uniqueEmail(), role: 'admin', team: 'ops' }, 'team', /Unknown field: team/),
  bad('role change: role "superuser"', CHANGE_ROLE, { role: 'superuser' }, 'role', /role must be one of: owner, admin, member/),
  bad('role change: no role', CHANGE_ROLE, {}, 'role', /role (is required|must be one of)/),
  bad('role change: a role that is a number', CHANGE_ROLE, { role: 1 }, 'role', /role must be one of/),
];

/** Every JSON type at every field of key creation; values that are valid for a field are left out. */
const WRONG_TYPES: unknown[] = [null, true, [], {}, 'x', 1.5];
const VALID_AS_IS: Record<string, unknown[]> = { name: ['x'], ip_allowlist: [[]] };

function fuzzRows(): Row[] {
  const rows: Row[] = [];
  const at = (path: string, body: Record<string, unknown>, value: unknown) => {
    const top = path.split('.')[0] ?? path;
    if (VALID_AS_IS[path]?.some((valid) => JSON.stringify(valid) === JSON.stringify(value))) return;
    rows.push(bad(`fuzz: ${path} = ${JSON.stringify(value)}`, CREATE_KEY, body, new RegExp(`^${top}(\\.|$)`), new RegExp(top)));
  };
  for (const value of WRONG_TYPES) {
    for (const field of ['name', 'mode', 'scopes', 'rate_limit', 'ip_allowlist']) at(field, key({ [field]: value }), value);
    for (const window of ['per_minute', 'per_hour']) at(`rate_limit.${window}`, key({ rate_limit: { [window]: value } }), value);
    at('scopes.0', key({ scopes: [value] }), value);
    at('ip_allowlist.0', key({ ip_allowlist: [value] }), value);
    rows.push(bad(`fuzz: overlap_seconds = ${JSON.stringify(value)}`, ROTATE_KEY, { overlap_seconds: value }, 'overlap_seconds', /overlap_seconds/));
  }
  return rows;
}

const ROWS: Row[] = [...KEY_CREATION, ...KEY_UPDATE, ...ROTATION, ...LISTING, ...ACCOUNTS, ...fuzzRows()];

/**
 * Each row gets a workspace of its own (and, for {key_id} and {user_id}, a key and a second member in it).
 * The Owner is signed in once per backend: a login costs a scrypt derivation, a workspace does not.
 */
async function urlFor(h: Harness, owner: Tenant, row: Row): Promise<{ client: Client; url: string }> {
  const workspace = await owner.client.post('/v1/workspaces', { name: 'Bad input' });
  assert.equal(workspace.status, 201, workspace.raw);
  const tenant: Tenant = { ...owner, workspaceId: workspace.body.id, keys: `/v1/workspaces/${workspace.body.id}/api-keys` };
  let path = row.route.slice(row.route.indexOf(' ') + 1).replace('{workspace_id}', tenant.workspaceId);
  if (path.includes('{key_id}')) {
    const created = await createKey(tenant);
    assert.equal(created.status, 201, created.raw);
    path = path.replace('{key_id}', created.body.id);
  }
  if (path.includes('{user_id}')) {
    const { userId } = await inviteAndJoin(h, tenant, uniqueEmail('member'), 'member');
    path = path.replace('{user_id}', userId);
  }
  const client = PUBLIC_ROUTES.has(row.route) ? new Client(h.app) : tenant.client;
  return { client, url: path + (row.query ?? '') };
}

function unhandledErrorCount(h: Harness): number {
  return h.logs.filter((line) => line.includes('"msg":"unhandled error"')).length;
}

function assertAnswer(reply: Reply, row: Row): void {
  const seen = `answered ${reply.status} ${reply.raw}`;
  assert.ok(reply.status < 500, `a client's mistake must never be a 5xx; ${seen}`);
  assert.equal(reply.status, row.status, seen);
  const error = reply.body?.error;
  assert.ok(error && typeof error === 'object', `no error object; ${seen}`);
  assert.equal(error.code, row.code, seen);
  assert.equal(error.type, ERRORS[row.code].type, seen);
  if (row.param instanceof RegExp) assert.match(String(error.param), row.param, seen);
  else assert.equal(error.param, row.param, seen);
  assert.equal(typeof error.message, 'string', seen);
  assert.match(error.message, row.message, seen);
  assert.match(String(error.request_id), /^req_/, seen);
  assert.equal(error.request_id, reply.headers['request-id'], 'error.request_id must be the Request-Id header');
}

describeEachBackend('bad input', (harness) => {
  let owner: Tenant | undefined;
  before(async () => {
    owner = await newTenant(harness()); // the suite's first tenant also completes first-run setup
  });

  for (const row of ROWS) {
    it(`${row.route}${row.query ?? ''}: ${row.what} -> ${row.status} ${row.code}`, async () => {
      const h = harness();
      if (!owner) throw new Error('owner not signed in');
      const { client, url } = await urlFor(h, owner, row);
      const errorsBefore = unhandledErrorCount(h);
      const method = row.route.slice(0, row.route.indexOf(' ')) as 'GET' | 'POST' | 'PATCH';
      const reply = await client.request(method, url, row.body, row.headers);
      assertAnswer(reply, row);
      assert.equal(unhandledErrorCount(h), errorsBefore, 'the request logged an unhandled error');
    });
  }
});
