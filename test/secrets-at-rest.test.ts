import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { generateSecret, generateServiceSecret } from '../src/keys/key-format.js';
import { createServiceKeys } from '../src/service-keys/service-keys.js';
import { Client, PASSWORD, apiCall, createKey, describeEachBackend, newTenant, serviceClient, type Harness, type Reply } from './harness.js';

/** Every row of every table in the schema, partitions included, each row cast to text. */
async function dumpDatabase(h: Harness): Promise<{ tables: string[]; text: string }> {
  const { rows } = await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = 'public' order by tablename`.execute(h.db);
  const dumps: string[] = [];
  for (const { name } of rows) {
    const table = await sql<{ row: string }>`select t::text as row from ${sql.table(name)} t`.execute(h.db);
    dumps.push(`${name}: ${table.rows.map((r) => r.row).join('\n')}`);
  }
  return { tables: rows.map((r) => r.name), text: dumps.join('\n') };
}

/** Until every one of these /api calls has its event: the audit log is written in batches, after the answer. */
async function auditFlushed(h: Harness, replies: Reply[]): Promise<void> {
  const ids = replies.map((r) => String(r.headers['request-id']));
  for (let i = 0; i < 400; i++) {
    const { count } = await h.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('count')).where('request_id', 'in', ids).executeTakeFirstOrThrow();
    if (Number(count) === ids.length) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail('the audit log did not receive every call');
}

/** Windows of a secret's private part (after its public display prefix): any one found is a leak. */
function fragments(secret: string): string[] {
  const start = secret.indexOf('_', secret.indexOf('_') + 1) + 1 + 4;
  const out: string[] = [];
  for (let at = start; at + 12 <= secret.length; at += 6) out.push(secret.slice(at, at + 12));
  return out;
}

function badChecksum(secret: string): string {
  return secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a');
}

describeEachBackend('secrets at rest', (harness) => {
  it('stores and logs no key, wherever a request carries it, nor a password or session token', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const created = (await createKey(tenant, { scopes: ['contacts:read', 'contacts:write'] })).body;
    const url = `${tenant.keys}/${created.id}`;
    const rotated = (await tenant.client.post(`${url}/rotate`)).body;
    const rotatedAgain = (await tenant.client.post(`${url}/rotate`, { overlap_seconds: 60 })).body;
    const testKey = (await createKey(tenant, { mode: 'test' })).body;
    const revoked = (await createKey(tenant)).body;
    assert.equal((await tenant.client.delete(`${tenant.keys}/${revoked.id}`)).status, 200);
    await tenant.client.patch(url, { name: 'after rotation' });
    await tenant.client.get(url);
    await tenant.client.get(tenant.keys);
    const madeUp = generateSecret('lk', 'live');

    const current: string = rotatedAgain.secret;
    const secrets: string[] = [created.secret, rotated.secret, current, testKey.secret, revoked.secret, madeUp];
    assert.equal(new Set(secrets).size, secrets.length);

    const replies: Reply[] = [];
    let ip = 0;
    /** A call to /api; unrecognised keys come from addresses of their own, so no failure budget runs out. */
    const call = async (secret: string | null, path: string, options: Parameters<typeof apiCall>[3] = {}) => {
      const reply = await apiCall(h, secret, path, { ip: `198.51.100.${++ip}`, ...options });
      replies.push(reply);
      return reply;
    };
    for (const secret of secrets) {
      const glued = [secret, `${secret}x`, `key_${secret}`, `${secret}_old`];
      // In the Authorization header: valid, revoked, made up, malformed behind a valid prefix.
      await call(secret, '/api/v1/ping');
      await call(badChecksum(secret), '/api/v1/ping');
      await call(`${secret}x`, '/api/v1/ping');
      for (const text of glued) {
        // In the path (a route and no route), in query names and values, in a JSON body's names and values.
        await call(current, `/api/v1/contacts/${text}`);
        await call(null, `/api/v1/nothing/${text}?${text}=1`);
        await call(current, `/api/v1/contacts?q=${text}&${text}=2`);
        await call(current, '/api/v1/contacts', { method: 'POST', body: { email: 'not an email', note: text, [text]: { [text]: text } } });
        // In headers: the user agent (stored) and ones nobody should read.
        await call(current, '/api/v1/ping', { headers: { 'user-agent': `crm-sync/1.0 (${text})`, 'x-api-key': text, cookie: `latchkey_session=${text}` } });
      }
      // Where the management API meets one: a path, a header, and the user agent of a logged change.
      await tenant.client.get(`${tenant.keys}/${secret}`);
      await tenant.client.request('GET', tenant.keys, undefined, { 'x-api-key': secret });
      assert.equal((await tenant.client.request('PATCH', url, { name: 'renamed' }, { 'user-agent': `console (key_${secret})` })).status, 200);
    }
    // Past an address's failure budget, calls without a recognised key are counted with a sample path.
    const flooder = '203.0.113.250';
    for (let i = 0; i < 30; i++) await apiCall(h, null, '/api/v1/ping', { ip: flooder });
    for (const secret of secrets) {
      for (const text of [secret, `${secret}x`, `key_${secret}`]) assert.equal((await apiCall(h, null, `/api/v1/nothing/${text}?${text}=1`, { ip: flooder })).status, 429);
    }
    assert.ok(replies.some((r) => r.status === 200) && replies.some((r) => r.status === 401) && replies.some((r) => r.status === 400), 'answered and refused calls');
    await auditFlushed(h, replies);
    for (let i = 0; i < 400; i++) {
      const counted = await h.db.selectFrom('audit_unattributed').select('requests').where('source_ip', '=', flooder).execute();
      if (counted.reduce((n, row) => n + row.requests, 0) === secrets.length * 3) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }

    const { tables, text: dump } = await dumpDatabase(h);
    assert.ok(tables.includes('audit_events_default') && tables.some((t) => /^audit_payloads_p\d{8}$/.test(t)), `the audit partitions are dumped: ${tables.join(', ')}`);
    assert.ok(dump.includes('GET /api/v1/nothing/'), 'the unattributed counts are dumped');
    const logs = h.logs.join('');
    assert.ok(dump.includes(created.id) && dump.includes('/api/v1/contacts/') && dump.includes('crm-sync/1.0 ('), 'the dump holds the calls');
    assert.ok(logs.includes('/api-keys') && logs.includes('/api/v1/nothing/'), 'the logs hold the calls');
    for (const secret of secrets) {
      for (const fragment of fragments(secret)) {
        const at = dump.indexOf(fragment);
        assert.ok(at < 0, `no part of ${secret.slice(0, 12)}… in the database: ${dump.slice(Math.max(0, dump.lastIndexOf('\n', at)), at + 60)}`);
        const inLogs = logs.indexOf(fragment);
        assert.ok(inLogs < 0, `no part of ${secret.slice(0, 12)}… in the logs: ${logs.slice(Math.max(0, inLogs - 200), inLogs + 60)}`);
      }
    }
    assert.ok(!dump.includes(PASSWORD) && !logs.includes(PASSWORD), 'no password in the database or the logs');
    assert.ok(!logs.includes(tenant.client.cookie?.split('=')[1] ?? '<none>'), 'no session token in the logs');
  });

  it('stores and logs no service key, wherever a request carries it', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const backend = await serviceClient(h);
    const revoked = await serviceClient(h, ['keys:read']);
    await createServiceKeys({ db: h.db, keyPrefix: h.config.keyPrefix }).revoke(revoked.serviceKeyId);
    const madeUp = generateServiceSecret(h.config.keyPrefix);
    const secrets = [backend.secret, revoked.secret, madeUp];

    const replies: Reply[] = [];
    for (const secret of secrets) {
      for (const text of [secret, `${secret}x`, `key_${secret}`, badChecksum(secret)]) {
        const caller = new Client(h.app);
        caller.bearer = text;
        replies.push(await caller.get(tenant.keys));
        // In the path, the query, a body, the user agent and Latchkey-On-Behalf-Of of calls that change something.
        replies.push(await backend.get(`${tenant.keys}/${text}?${text}=1`));
        replies.push(await backend.request('POST', tenant.keys, { name: 'svc', scopes: ['tickets:read'], note: text }, { 'user-agent': `backend (${text})` }));
        replies.push(await backend.request('POST', tenant.keys, { name: `svc-${text.slice(-8)}`, scopes: ['tickets:read'] }, { 'user-agent': `backend (${text})`, 'latchkey-on-behalf-of': text }));
        replies.push(await backend.request('POST', '/v1/workspaces', { name: 'via svc', metadata: { token: text } }, { 'latchkey-on-behalf-of': `user ${text}` }));
        replies.push(await apiCall(h, text, '/api/v1/ping', { ip: '198.51.100.77' }));
      }
    }
    assert.ok(replies.some((r) => r.status === 201) && replies.some((r) => r.status === 401) && replies.some((r) => r.status === 400), replies.map((r) => r.status).join(','));

    const { text: dump } = await dumpDatabase(h);
    const logs = h.logs.join('');
    assert.ok(dump.includes(backend.serviceKeyId) && logs.includes('/api-keys'), 'the dump and logs hold the calls');
    for (const secret of secrets) {
      for (const fragment of fragments(secret)) {
        const at = dump.indexOf(fragment);
        assert.ok(at < 0, `no part of ${secret.slice(0, 12)}… in the database: ${dump.slice(Math.max(0, at - 300), at + 60)}`);
        const inLogs = logs.indexOf(fragment);
        assert.ok(inLogs < 0, `no part of ${secret.slice(0, 12)}… in the logs: ${logs.slice(Math.max(0, inLogs - 200), inLogs + 60)}`);
      }
    }
  });
});
