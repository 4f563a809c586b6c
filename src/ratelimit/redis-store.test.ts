import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { describeOrSkip } from '../../test/skip.js';
import { windowEnd, windowStart, type Window } from './decision.js';
import { counterKey, createRedisStore, EXPIRY_MARGIN_SECONDS, type RedisScripting } from './redis-store.js';
import { registerStoreContract } from './store-contract.js';

// The server is shared: these tests only touch keys of buckets named with this run's id, never flush.
const URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN = `latchkey-test-${randomUUID()}`;

function connect(): Redis {
  // Fail fast instead of queueing commands while the server is down.
  return new Redis(URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 1, retryStrategy: () => null });
}

/** Why Redis cannot be used, or null when it can. */
async function unreachable(): Promise<string | null> {
  const redis = connect();
  // The socket's error (ECONNREFUSED ...) says more than connect()'s rejection ("Connection is closed").
  let socketError: Error | undefined;
  redis.on('error', (error: Error) => (socketError ??= error));
  try {
    await redis.connect();
    await redis.ping();
    await redis.quit();
    return null;
  } catch (error) {
    redis.disconnect();
    return (socketError ?? (error instanceof Error ? error : new Error(String(error)))).message;
  }
}

const reason = await unreachable();

if (reason !== null && process.env.CI === 'true') {
  describe('redis store', () => {
    it(`needs Redis at ${URL} in CI`, () => assert.fail(`Redis unreachable: ${reason}`));
  });
} else {
  const skip = reason === null ? false : `Redis unreachable at ${URL} (${reason}); start one to run these tests`;
  describeOrSkip('redis store', { skip }, () => {
    // Three connections stand for three instances of Latchkey behind a load balancer.
    const instances: Redis[] = [];
    before(async () => {
      for (let i = 0; i < 3; i += 1) {
        const redis = connect();
        await redis.connect();
        instances.push(redis);
      }
    });
    after(async () => {
      await Promise.all(instances.map((redis) => redis.quit()));
    });
    const first = () => instances[0]!;
    const bucket = () => `${RUN}:${randomUUID()}`;
    const minute = (limit: number): Window => ({ seconds: 60, limit });
    const hour = (limit: number): Window => ({ seconds: 3600, limit });

    registerStoreContract(() => createRedisStore(first()), RUN);

    it('allows exactly the limit among concurrent requests from three instances', async () => {
      const stores = instances.map((redis) => createRedisStore(redis));
      const id = bucket();
      const nowMs = Date.now();
      const windows = [minute(100), hour(1000)];
      const results = await Promise.all(
        Array.from({ length: 500 }, (_, i) => stores[i % stores.length]!.consume(id, windows, nowMs)),
      );
      assert.equal(results.filter((result) => result.allowed).length, 100);
      assert.equal(await first().get(counterKey(id, 60, windowStart(nowMs, 60))), '100');
      assert.equal(await first().get(counterKey(id, 3600, windowStart(nowMs, 3600))), '100');
    });

    it('writes nothing for a refused request', async () => {
      const store = createRedisStore(first());
      const id = bucket();
      // Two minutes of one hour: in an hour's last minute, the one before it and this one (the next minute
      // would be another hour, whose fresh window allows the call: a CI run at 15:59 failed so).
      const clock = Date.now();
      const nowMs = windowStart(clock, 60) === windowStart(clock, 3600) + 3540 ? clock - 60_000 : clock;
      await store.consume(id, [minute(10), hour(1)], nowMs);
      // The next minute: its counter must not appear, since the hour refuses.
      const later = (windowStart(nowMs, 60) + 60) * 1000;
      const refused = await store.consume(id, [minute(10), hour(1)], later);
      assert.equal(refused.allowed, false);
      assert.equal(await first().exists(counterKey(id, 60, windowStart(later, 60))), 0);
      assert.equal(await first().get(counterKey(id, 3600, windowStart(nowMs, 3600))), '1');
    });

    it('lets each counter expire shortly after its window ends', async () => {
      const store = createRedisStore(first());
      const id = bucket();
      const nowMs = Date.now();
      await store.consume(id, [minute(10), hour(10)], nowMs);
      for (const seconds of [60, 3600]) {
        const key = counterKey(id, seconds, windowStart(nowMs, seconds));
        assert.equal(await first().expiretime(key), windowEnd(nowMs, seconds) + EXPIRY_MARGIN_SECONDS);
      }
    });

    it('lets Redis delete an expired counter', async () => {
      const store = createRedisStore(first());
      const id = bucket();
      // Seen from a clock this far behind, a one-second window's counter expires within a second.
      const nowMs = Date.now() - EXPIRY_MARGIN_SECONDS * 1000;
      await store.consume(id, [{ seconds: 1, limit: 5 }], nowMs);
      const key = counterKey(id, 1, windowStart(nowMs, 1));
      let exists = await first().exists(key);
      for (let tries = 0; exists === 1 && tries < 30; tries += 1) {
        await sleep(100);
        exists = await first().exists(key);
      }
      assert.equal(exists, 0);
    });

    it('loads the script again when Redis has forgotten it', async () => {
      // Stands for a Redis restart or SCRIPT FLUSH, without flushing the shared server.
      const forgetful: RedisScripting = {
        evalsha: (() => Promise.reject(new Error('NOSCRIPT No matching script.'))) as RedisScripting['evalsha'],
        eval: first().eval.bind(first()) as RedisScripting['eval'],
      };
      const result = await createRedisStore(forgetful).consume(bucket(), [minute(2)], Date.now());
      assert.equal(result.allowed, true);
      assert.equal(result.remaining, 1);
    });

    it('passes on errors other than a forgotten script', async () => {
      const failing: RedisScripting = {
        evalsha: (() => Promise.reject(new Error('READONLY You cannot write against a read only replica.'))) as RedisScripting['evalsha'],
        eval: (() => assert.fail('must not fall back to EVAL')) as RedisScripting['eval'],
      };
      await assert.rejects(createRedisStore(failing).consume(bucket(), [minute(2)], Date.now()), /READONLY/);
    });
  });
}
