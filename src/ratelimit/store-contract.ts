import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { windowStart, type Window } from './decision.js';
import type { RateLimitStore } from './store.js';

/**
 * What every store must do, registered as tests inside the caller's describe(). Each test gets a
 * fresh store from `makeStore` and a bucket of its own under `bucketPrefix`, so tests share nothing
 * but the backend, and a shared backend can tell this run's buckets from anyone else's.
 *
 * Times are offsets from the start of the next hour: in the future, so that Redis, which expires
 * counters by its own clock, keeps every counter these tests write for their duration, and aligned,
 * so that offsets read as minute:second.
 */
export function registerStoreContract(makeStore: () => RateLimitStore, bucketPrefix: string): void {
  const hourStart = windowStart(Date.now(), 3600) + 3600;
  const at = (seconds: number) => Math.round((hourStart + seconds) * 1000);
  const minute = (limit: number): Window => ({ seconds: 60, limit });
  const hour = (limit: number): Window => ({ seconds: 3600, limit });

  async function withStore(test: (store: RateLimitStore, bucket: string) => Promise<void>): Promise<void> {
    const store = makeStore();
    try {
      await test(store, `${bucketPrefix}:${randomUUID()}`);
    } finally {
      await store.close();
    }
  }

  it('allows up to the limit, counting remaining down, then refuses', () =>
    withStore(async (store, bucket) => {
      const results = [];
      for (let i = 0; i < 5; i += 1) results.push(await store.consume(bucket, [minute(3)], at(30.5)));
      assert.deepEqual(
        results.map((result) => [result.allowed, result.remaining]),
        [[true, 2], [true, 1], [true, 0], [false, 0], [false, 0]],
      );
      assert.deepEqual(results[0], { allowed: true, limit: 3, remaining: 2, resetAt: hourStart + 60, retryAfter: 0 });
      assert.deepEqual(results[4], { allowed: false, limit: 3, remaining: 0, resetAt: hourStart + 60, retryAfter: 30 });
    }));

  it('counts a refused request nowhere', () =>
    withStore(async (store, bucket) => {
      const windows = [minute(2), hour(10)];
      for (let i = 0; i < 12; i += 1) await store.consume(bucket, windows, at(10));
      // Only the 2 allowed requests of the first minute count in the hour.
      const next = await store.consume(bucket, windows, at(70));
      assert.deepEqual(next, { allowed: true, limit: 2, remaining: 1, resetAt: hourStart + 120, retryAfter: 0 });
      const then = await store.consume(bucket, [hour(10)], at(71));
      assert.equal(then.remaining, 6);
    }));

  it('lets the hour refuse while the minute allows, until the hour rolls over', () =>
    withStore(async (store, bucket) => {
      const windows = [minute(10), hour(3)];
      for (let i = 0; i < 3; i += 1) assert.equal((await store.consume(bucket, windows, at(i))).allowed, true);
      const refused = await store.consume(bucket, windows, at(90.25));
      assert.deepEqual(refused, { allowed: false, limit: 3, remaining: 0, resetAt: hourStart + 3600, retryAfter: 3510 });
      const afterWaiting = await store.consume(bucket, windows, at(90.25 + refused.retryAfter));
      assert.deepEqual(afterWaiting, { allowed: true, limit: 3, remaining: 2, resetAt: hourStart + 7200, retryAfter: 0 });
    }));

  it('starts each window from zero', () =>
    withStore(async (store, bucket) => {
      const windows = [minute(1)];
      assert.equal((await store.consume(bucket, windows, at(59.999))).allowed, true);
      assert.equal((await store.consume(bucket, windows, at(59.999))).allowed, false);
      const next = await store.consume(bucket, windows, at(60));
      assert.deepEqual(next, { allowed: true, limit: 1, remaining: 0, resetAt: hourStart + 120, retryAfter: 0 });
    }));

  it('keeps buckets apart', () =>
    withStore(async (store, bucket) => {
      assert.equal((await store.consume(bucket, [minute(1)], at(1))).allowed, true);
      assert.equal((await store.consume(bucket, [minute(1)], at(1))).allowed, false);
      assert.equal((await store.consume(`${bucket}:other`, [minute(1)], at(1))).allowed, true);
    }));

  it('keeps the count of the window when the limit changes inside it', () =>
    withStore(async (store, bucket) => {
      for (let i = 0; i < 5; i += 1) await store.consume(bucket, [minute(10)], at(1));
      assert.equal((await store.consume(bucket, [minute(5)], at(2))).allowed, false);
      assert.equal((await store.consume(bucket, [minute(20)], at(3))).remaining, 14);
    }));

  it('allows exactly the limit among concurrent requests', () =>
    withStore(async (store, bucket) => {
      const results = await Promise.all(Array.from({ length: 500 }, () => store.consume(bucket, [minute(100), hour(1000)], at(5))));
      const allowed = results.filter((result) => result.allowed);
      assert.equal(allowed.length, 100);
      // Each allowed request saw a different count: remaining 99 down to 0, each once.
      assert.deepEqual(
        allowed.map((result) => result.remaining).sort((a, b) => a - b),
        Array.from({ length: 100 }, (_, i) => i),
      );
    }));

  it('takes a request of several units from every window, and refuses one that does not fit', () =>
    withStore(async (store, bucket) => {
      const windows = [minute(10), hour(12)];
      assert.deepEqual(await store.consume(bucket, windows, at(1), 4), { allowed: true, limit: 10, remaining: 6, resetAt: hourStart + 60, retryAfter: 0 });
      const filled = await store.consume(bucket, windows, at(2), 6);
      assert.deepEqual([filled.allowed, filled.limit, filled.remaining], [true, 10, 0], 'the minute has 0 left after 10 units, the hour 2');
      const refused = await store.consume(bucket, windows, at(3), 1);
      assert.deepEqual([refused.allowed, refused.limit, refused.remaining, refused.retryAfter], [false, 10, 0, 57]);
      // The next minute: the minute has room, the hour has 2 left; 3 units do not fit, and the answer says 2 remain.
      const tooMany = await store.consume(bucket, windows, at(61), 3);
      assert.deepEqual([tooMany.allowed, tooMany.limit, tooMany.remaining, tooMany.resetAt], [false, 12, 2, hourStart + 3600]);
      // The refusal counted nothing: the 2 units that are left can still be taken.
      assert.deepEqual([(await store.consume(bucket, windows, at(62), 2)).allowed, (await store.consume(bucket, windows, at(63), 1)).allowed], [true, false]);
    }));

  it('never fits a cost above the limit, and counts nothing for it', () =>
    withStore(async (store, bucket) => {
      const refused = await store.consume(bucket, [minute(5)], at(1), 6);
      assert.deepEqual([refused.allowed, refused.remaining], [false, 5]);
      assert.equal((await store.consume(bucket, [minute(5)], at(2), 5)).remaining, 0);
    }));

  it('rejects a cost that is not a positive integer', () =>
    withStore(async (store, bucket) => {
      for (const cost of [0, -1, 1.5, Number.NaN]) await assert.rejects(store.consume(bucket, [minute(5)], at(1), cost), RangeError, String(cost));
      assert.equal((await store.consume(bucket, [minute(5)], at(1))).remaining, 4, 'nothing was counted');
    }));

  it('rejects an invalid bucket or windows', () =>
    withStore(async (store, bucket) => {
      await assert.rejects(store.consume('', [minute(1)], at(0)), RangeError);
      await assert.rejects(store.consume('key:{a}', [minute(1)], at(0)), RangeError);
      await assert.rejects(store.consume('x'.repeat(201), [minute(1)], at(0)), RangeError);
      await assert.rejects(store.consume(bucket, [], at(0)), RangeError);
      await assert.rejects(store.consume(bucket, [minute(1), minute(2)], at(0)), RangeError);
    }));

  it('closes idempotently, and refuses to count after', async () => {
    const store = makeStore();
    await store.close();
    await store.close();
    await assert.rejects(store.consume(`${bucketPrefix}:${randomUUID()}`, [minute(1)], at(0)), /closed/);
  });
}
