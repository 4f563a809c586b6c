import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHungRedis, type HungRedis } from '../../test/redis-server.js';
import { COMMAND_TIMEOUT_MS, connectRedis, type RedisConnections } from '../redis.js';
import { createFallbackStore, FALLBACK_PAUSE_MS } from './fallback-store.js';
import { createMemoryStore } from './memory-store.js';
import { createRedisStore } from './redis-store.js';
import type { RateLimitResult, RateLimitStore } from './store.js';

const windows = [{ seconds: 60, limit: 1000 }];
const NOW = 1_800_000_000_000;

async function timed(consume: () => Promise<RateLimitResult>): Promise<number> {
  const started = performance.now();
  await consume();
  return performance.now() - started;
}

describe('fallback store against a Redis that hangs (accepts commands, never answers)', () => {
  let hung: HungRedis;
  let redis: RedisConnections;
  let time = 0;
  let fallbacks = 0;
  let store: RateLimitStore;

  before(async () => {
    hung = await startHungRedis();
    redis = await connectRedis(hung.url); // the product's own connection options and command timeout
    store = createFallbackStore(createRedisStore(redis.commands), createMemoryStore(), () => fallbacks++, () => time);
  });
  after(async () => {
    await store.close();
    await redis.close();
    await hung.close();
  });

  it('after a failure, 50 concurrent requests send one probe to Redis and the 49 others decide locally at once', async () => {
    // The first failure: this request waits out the command timeout, then falls back.
    assert.ok((await timed(() => store.consume('key:a', windows, NOW))) >= COMMAND_TIMEOUT_MS - 50);
    assert.equal(hung.total(), 1);

    for (let pause = 1; pause <= 2; pause++) {
      time += FALLBACK_PAUSE_MS + 1; // the pause is over: Redis may be tried again
      const sentBefore = hung.total();
      const fallbacksBefore = fallbacks;
      const durations = await Promise.all(Array.from({ length: 50 }, (_, i) => timed(() => store.consume(`key:${i}`, windows, NOW))));
      assert.equal(hung.total() - sentBefore, 1, `commands that reached the hung Redis after pause ${pause}`);
      assert.equal(fallbacks - fallbacksBefore, 50, 'every decision was made locally, and counted');
      const quick = durations.filter((ms) => ms < 100).length;
      assert.equal(quick, 49, `answered within 100 ms: ${durations.map(Math.round).join(', ')}`);
    }
  });
});

describe('fallback store: Redis trusted again once it answers', () => {
  it('a probe that succeeds sends every request to Redis again; while it waits, the others go local', { timeout: 5000 }, async () => {
    let fail = true;
    const waiting: (() => void)[] = [];
    const release = () => waiting.splice(0).forEach((resolve) => resolve());
    let primaryCalls = 0;
    const local = createMemoryStore();
    const primary: RateLimitStore = {
      async consume(bucket, w, now) {
        primaryCalls++;
        if (fail) throw new Error('Redis down');
        await new Promise<void>((resolve) => waiting.push(resolve));
        return local.consume(`redis:${bucket}`, w, now);
      },
      async close() {},
    };
    let time = 0;
    const store = createFallbackStore(primary, createMemoryStore(), () => {}, () => time);
    await store.consume('key:a', windows, NOW);
    await store.consume('key:a', windows, NOW);
    assert.equal(primaryCalls, 1, 'paused after the failure');
    fail = false;
    time += FALLBACK_PAUSE_MS;
    const probe = store.consume('key:a', windows, NOW);
    await store.consume('key:a', windows, NOW);
    assert.equal(primaryCalls, 2, 'one probe in flight; the other request decided locally');
    release();
    await probe;
    const again = Promise.all([store.consume('key:a', windows, NOW), store.consume('key:a', windows, NOW)]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(primaryCalls, 4, 'healthy again: concurrent requests all go to Redis');
    release();
    await again;
  });
});

describe('fallback store and a request of several units', () => {
  it('hands the cost to Redis while it answers, and to the local store while it does not', async () => {
    const failing: RateLimitStore = {
      consume: () => Promise.reject(new Error('redis away')),
      close: async () => {},
    };
    const primary = createMemoryStore();
    const local = createMemoryStore();
    let time = 0;
    const healthy = createFallbackStore(primary, local, () => {}, () => time);
    assert.equal((await healthy.consume('key:cost', [{ seconds: 60, limit: 10 }], NOW, 4)).remaining, 6);
    const away = createFallbackStore(failing, local, () => {}, () => time);
    assert.equal((await away.consume('key:cost', [{ seconds: 60, limit: 10 }], NOW, 7)).remaining, 3);
    time += FALLBACK_PAUSE_MS;
    await healthy.close();
    await away.close();
  });
});
