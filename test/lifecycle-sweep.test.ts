import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { runSweepOnce } from '../src/events/lifecycle-sweep.js';
import { createKey, describeEachBackend, newTenant, type Harness, type Tenant } from './harness.js';

/**
 * The key lifecycle sweep (src/events/lifecycle-sweep.ts): api_key.expiring (7 d, 1 d), api_key.expired,
 * api_key.rotation_due (90 d) and api_key.unused (30 d), each once per key and threshold however many
 * sweeps run, and again only once its condition has ended and come back.
 */

const DAY_MS = 86_400_000;
const LIFECYCLE = ['api_key.expiring', 'api_key.expired', 'api_key.rotation_due', 'api_key.unused'];

const sweep = (h: Harness) => runSweepOnce({ db: h.db, now: () => h.clock.now, catalog: h.config.product }, { wait: true });

/** The lifecycle events sent for the workspace's keys, by key: [type, data without the key] in the order sent. */
async function sentFor(h: Harness, workspaceId: string): Promise<Map<string, Array<[string, Record<string, unknown>]>>> {
  const rows = await h.db.selectFrom('events').select(['id', 'type', 'body']).where('workspace_id', '=', workspaceId).where('type', 'in', LIFECYCLE).orderBy('id').execute();
  const byKey = new Map<string, Array<[string, Record<string, unknown>]>>();
  for (const row of rows) {
    const { object, ...rest } = JSON.parse(row.body).data as { object: { id: string } } & Record<string, unknown>;
    byKey.set(object.id, [...(byKey.get(object.id) ?? []), [row.type, rest]]);
  }
  return byKey;
}

/** created_at is the database's, never updated by the app: tests set it as if time had passed. */
async function backdateSecrets(h: Harness, keyId: string, daysAgo: number, secretId?: string): Promise<void> {
  const at = new Date(h.clock.now.getTime() - daysAgo * DAY_MS);
  await sql`update api_key_secrets set created_at = ${at} where key_id = ${keyId} and (${secretId ?? null}::text is null or id = ${secretId ?? null})`.execute(h.db);
}

/** A key whose times are then set straight in the database, as if it had lived them. */
async function keyWith(h: Harness, tenant: Tenant, name: string, times: { createdDaysAgo?: number; lastUsedDaysAgo?: number; expiresInHours?: number; secretDaysAgo?: number }) {
  const key = (await createKey(tenant, { name })).body as { id: string; secret: string };
  const now = h.clock.now.getTime();
  const created = new Date(now - (times.createdDaysAgo ?? 0) * DAY_MS);
  const lastUsed = times.lastUsedDaysAgo === undefined ? null : new Date(now - times.lastUsedDaysAgo * DAY_MS);
  const expires = times.expiresInHours === undefined ? null : new Date(now + times.expiresInHours * 3_600_000);
  await sql`update api_keys set created_at = ${created}, last_used_at = ${lastUsed}, expires_at = ${expires} where id = ${key.id}`.execute(h.db);
  await backdateSecrets(h, key.id, times.secretDaysAgo ?? times.createdDaysAgo ?? 0);
  return key;
}

describeEachBackend('key lifecycle sweep', (harness) => {
  it('sends each lifecycle event once per key and threshold over two sweeps, the key as the API shows it', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const inSixDays = await keyWith(h, tenant, 'six-days', { lastUsedDaysAgo: 0, expiresInHours: 6 * 24 });
    const inTwelveHours = await keyWith(h, tenant, 'twelve-hours', { lastUsedDaysAgo: 0, expiresInHours: 12 });
    const expired = await keyWith(h, tenant, 'expired', { createdDaysAgo: 5, lastUsedDaysAgo: 2, expiresInHours: -1 });
    const oldSecret = await keyWith(h, tenant, 'old-secret', { createdDaysAgo: 200, lastUsedDaysAgo: 1, secretDaysAgo: 91 });
    const neverUsed = await keyWith(h, tenant, 'never-used', { createdDaysAgo: 31 });
    const idle = await keyWith(h, tenant, 'idle', { createdDaysAgo: 60, lastUsedDaysAgo: 31 });
    const fresh = await keyWith(h, tenant, 'fresh', { createdDaysAgo: 29, lastUsedDaysAgo: 29, secretDaysAgo: 89, expiresInHours: 8 * 24 });
    const revoked = await keyWith(h, tenant, 'revoked', { createdDaysAgo: 120, expiresInHours: 24 });
    assert.equal((await tenant.client.delete(`${tenant.keys}/${revoked.id}`)).status, 200);

    const first = await sweep(h);
    assert.equal(first.ran, true);
    await sweep(h);
    await Promise.all([runSweepOnce({ db: h.db, now: () => h.clock.now, catalog: h.config.product }), sweep(h)]);

    const sent = await sentFor(h, tenant.workspaceId);
    const at = (hours: number, from = h.clock.now) => new Date(from.getTime() + hours * 3_600_000);
    assert.deepEqual(sent.get(inSixDays.id)?.map(([type, data]) => [type, data.within_days]), [['api_key.expiring', 7]]);
    assert.deepEqual(sent.get(inTwelveHours.id)?.map(([type, data]) => [type, data.within_days]), [['api_key.expiring', 1]], 'the 1-day reminder only');
    assert.deepEqual(sent.get(expired.id)?.map(([type]) => type), ['api_key.expired']);
    assert.deepEqual(sent.get(oldSecret.id)?.map(([type, data]) => [type, data.secret_age_days, data.rotation_days]), [['api_key.rotation_due', 91, 90]]);
    assert.deepEqual(sent.get(neverUsed.id), [['api_key.unused', { last_used_at: null, unused_days: 30 }]]);
    assert.deepEqual(sent.get(idle.id)?.map(([type]) => type), ['api_key.unused']);
    assert.equal(sent.get(fresh.id), undefined, 'a key inside every threshold');
    assert.equal(sent.get(revoked.id), undefined, 'a revoked key is past reminding');
    assert.ok(Math.abs(Date.parse(String(sent.get(inTwelveHours.id)?.[0]?.[1].expires_at)) - at(12).getTime()) < 60_000);

    // The body: the key as GET shows it (no secret), the workspace, never the secret itself.
    const row = await h.db.selectFrom('events').selectAll().where('workspace_id', '=', tenant.workspaceId).where('type', '=', 'api_key.rotation_due').executeTakeFirstOrThrow();
    const body = JSON.parse(row.body);
    const shown = (await tenant.client.get(`${tenant.keys}/${oldSecret.id}`)).body;
    assert.deepEqual({ ...body.data.object, status: shown.status }, shown);
    assert.deepEqual(body.workspace, { id: tenant.workspaceId, external_id: null });
    assert.ok(!row.body.includes(oldSecret.secret.slice(12)), 'no secret in the event');
  });

  it('reminds again once the condition has ended and come back: a rotated key whose new secret grows old', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = await keyWith(h, tenant, 'rotated', { createdDaysAgo: 200, lastUsedDaysAgo: 1, secretDaysAgo: 100 });
    await sweep(h);
    assert.equal((await tenant.client.post(`${tenant.keys}/${key.id}/rotate`, {})).status, 200);
    await sweep(h);
    await sweep(h);
    const types = async () => (await sentFor(h, tenant.workspaceId)).get(key.id)?.map(([type]) => type);
    assert.deepEqual(await types(), ['api_key.rotation_due'], 'the new secret is young');
    const newest = await h.db.selectFrom('api_key_secrets').select(['id']).where('key_id', '=', key.id).orderBy('version', 'desc').executeTakeFirstOrThrow();
    await backdateSecrets(h, key.id, 95, newest.id);
    await sweep(h);
    await sweep(h);
    assert.deepEqual(await types(), ['api_key.rotation_due', 'api_key.rotation_due']);
  });

  it('follows the clock: a key expiring in 8 days gets the 7-day, then the 1-day reminder, then expired, each once', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const key = await keyWith(h, tenant, 'eight-days', { lastUsedDaysAgo: 0, expiresInHours: 8 * 24 });
    const types = async () => (await sentFor(h, tenant.workspaceId)).get(key.id)?.map(([type, data]) => `${type}${data.within_days ? ` ${data.within_days}d` : ''}`) ?? [];
    let moved = 0;
    const advance = (hours: number) => {
      h.clock.advance(hours * 3600);
      moved += hours * 3600;
    };
    try {
      await sweep(h);
      assert.deepEqual(await types(), []);
      advance(36);
      await sweep(h);
      await sweep(h);
      assert.deepEqual(await types(), ['api_key.expiring 7d']);
      advance(6 * 24);
      await sweep(h);
      await sweep(h);
      assert.deepEqual(await types(), ['api_key.expiring 7d', 'api_key.expiring 1d']);
      advance(24);
      await sweep(h);
      await sweep(h);
      assert.deepEqual(await types(), ['api_key.expiring 7d', 'api_key.expiring 1d', 'api_key.expired']);
    } finally {
      h.clock.advance(-moved);
    }
  });
});
