import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { PASSWORD, createKey, describeEachBackend, newTenant, type Harness } from './harness.js';

/** Every row of every table of ours, as text. */
async function dumpDatabase(h: Harness): Promise<string> {
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'
  `.execute(h.db);
  assert.ok(tables.rows.length >= 7, 'the dump sees our tables');
  const dumps: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql`select * from ${sql.table(table_name)}`.execute(h.db);
    dumps.push(`${table_name}: ${JSON.stringify(rows.rows)}`);
  }
  return dumps.join('\n');
}

describeEachBackend('secrets at rest', (harness) => {
  it('stores no secret, nor its private part, nor a password, anywhere in the database or the logs', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const created = (await createKey(tenant)).body;
    const url = `${tenant.keys}/${created.id}`;
    const rotated = (await tenant.client.post(`${url}/rotate`)).body;
    const rotatedAgain = (await tenant.client.post(`${url}/rotate`, { overlap_seconds: 60 })).body;
    const testKey = (await createKey(tenant, { mode: 'test' })).body;
    await tenant.client.patch(url, { name: 'after rotation' });
    await tenant.client.get(url);
    await tenant.client.get(tenant.keys);

    const secrets: string[] = [created.secret, rotated.secret, rotatedAgain.secret, testKey.secret];
    assert.equal(new Set(secrets).size, 4);
    const dump = await dumpDatabase(h);
    const logs = h.logs.join('');
    assert.ok(dump.includes(created.id) && logs.includes('/api-keys'), 'the dump and the logs are not empty');
    for (const secret of secrets) {
      // The display prefix (brand, mode, 4 characters) is public; nothing after it may be stored.
      const privatePart = secret.slice(12);
      assert.ok(!dump.includes(privatePart), 'no secret in the database');
      assert.ok(!logs.includes(privatePart), 'no secret in the logs');
    }
    assert.ok(!dump.includes(PASSWORD) && !logs.includes(PASSWORD), 'no password in the database or the logs');
    assert.ok(!logs.includes(tenant.client.cookie?.split('=')[1] ?? '<none>'), 'no session token in the logs');
  });
});
