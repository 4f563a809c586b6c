import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiCall, createKey, describeEachBackend, newTenant } from './harness.js';

/**
 * A rotation (it locks the key's row, then its secrets) racing the last-used flush, which locks in the
 * same order so that the two wait for each other instead of deadlocking. Only PostgreSQL can deadlock:
 * PGlite is one session, where each transaction runs after the one before, so on PGlite this checks only
 * what must hold on both — every rotation answers and no use is lost.
 */
describeEachBackend('rotation while last-used times are flushed', (harness) => {
  it('never deadlocks (on PostgreSQL; counted when it does) and loses no use of any version', async () => {
    const h = harness();
    const t = await newTenant(h);
    const created = (await createKey(t, { scopes: ['keys:rotate_self'], rate_limit: { per_minute: 1000 } })).body;
    let secret = created.secret as string;
    const rotations = 40;
    for (let i = 0; i < rotations; i++) {
      await Promise.all([apiCall(h, secret, '/api/v1/ping'), apiCall(h, secret, '/api/v1/ping')]);
      await new Promise((r) => setTimeout(r, 45));
      const r = await apiCall(h, secret, '/api/v1/api_keys/current/rotate', { method: 'POST', body: { overlap_seconds: 60 } });
      assert.equal(r.status, 200, r.raw);
      secret = r.body.secret;
    }
    // Every version but the newest (never used) gets its last-used time from the flushes.
    const unused = async () =>
      (await h.db.selectFrom('api_key_secrets').select('version').where('key_id', '=', created.id).where('last_used_at', 'is', null).orderBy('version').execute()).map((s) => s.version);
    const deadline = Date.now() + 5000;
    while ((await unused()).length > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await unused(), [rotations + 1]);
    const metrics = (await h.app.inject({ url: '/metrics' })).body;
    assert.doesNotMatch(metrics, /^latchkey_usage_flush_failures_total\{reason="deadlock"\} [1-9]/m, 'no flush was aborted by a deadlock');
  });
}, { usageFlushMs: 5 });
