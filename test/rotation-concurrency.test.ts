import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiCall, createKey, describeEachBackend, newTenant } from './harness.js';
describeEachBackend('rotation while last-used times are flushed', (harness) => {
  it('never deadlocks: both lock the key row before its secret', async () => {
    const h = harness();
    const t = await newTenant(h);
    let secret = (await createKey(t, { scopes: ['keys:rotate_self'], rate_limit: { per_minute: 1000 } })).body.secret as string;
    for (let i = 0; i < 40; i++) {
      await Promise.all([apiCall(h, secret, '/api/v1/ping'), apiCall(h, secret, '/api/v1/ping')]);
      await new Promise((r) => setTimeout(r, 45));
      const r = await apiCall(h, secret, '/api/v1/api_keys/current/rotate', { method: 'POST', body: { overlap_seconds: 60 } });
      assert.equal(r.status, 200, r.raw);
      secret = r.body.secret;
    }
  });
}, { usageFlushMs: 5 });
