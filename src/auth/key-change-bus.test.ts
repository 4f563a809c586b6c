import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeOrSkip, redisSkipReason, TEST_REDIS_URL } from '../../test/services.js';
import { connectRedis, type RedisConnections } from '../redis.js';
import { ACK_WAIT_MS, createRedisBus, HEARTBEAT_INTERVAL_MS, INSTANCES_KEY, TRUST_MS, type KeyChangeBus, type RedisBusOptions } from './key-change-bus.js';
import { KeyCache, type VerifiedSecret } from './key-cache.js';

const entry = (keyId: string) => ({ principal: { keyId } }) as unknown as VerifiedSecret;

async function until(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(10);
  }
}

describe('key cache trust with a deadline', () => {
  it('lapses at the deadline on its own, and answers again once renewed (without emptying)', async () => {
    const cache = new KeyCache();
    cache.setTrusted(true, performance.now() + 40);
    cache.set('h1', entry('k1'), cache.generation);
    assert.equal(cache.get('h1')?.principal.keyId, 'k1');
    await sleep(60);
    assert.equal(cache.trusted, false);
    assert.equal(cache.get('h1'), undefined, 'a lapsed cache answers nothing');
    cache.set('h2', entry('k2'), cache.generation);
    cache.setTrusted(true, performance.now() + 1000);
    assert.equal(cache.get('h2'), undefined, 'nothing was cached while lapsed');
  });
});

const skip = (await redisSkipReason()) ?? false;

describeOrSkip('key change bus on Redis: a change answers once every live instance confirmed it', { skip }, () => {
  const opened: { redis: RedisConnections; bus: KeyChangeBus }[] = [];
  async function instance(options: RedisBusOptions = {}, wrap?: (redis: RedisConnections) => void) {
    const redis = await connectRedis(TEST_REDIS_URL);
    wrap?.(redis);
    const cache = new KeyCache();
    const bus = await createRedisBus(cache, redis.commands, redis.subscriber, options);
    opened.push({ redis, bus });
    await until('trusted after the first heartbeat', 2000, () => cache.trusted);
    return { cache, bus, redis };
  }
  after(async () => {
    for (const { bus, redis } of opened) {
      await bus.close();
      await redis.close();
    }
  });

  it('waits for a slow instance to drop the key before answering', async () => {
    const a = await instance();
    const slow = await instance({ handlingDelayMs: 200 });
    slow.cache.set('h-slow', entry('key_slow'), slow.cache.generation);
    const started = performance.now();
    await a.bus.publish('key_slow');
    assert.ok(performance.now() - started >= 200, 'waited for the slow instance');
    assert.equal(slow.cache.get('h-slow'), undefined, 'the slow instance forgot the key before the change answered');
  });

  it('an instance whose heartbeat cannot be refreshed stops trusting its cache within TRUST_MS', async () => {
    let failRefresh = false;
    const b = await instance({}, (redis) => {
      const evaluate = redis.commands.eval.bind(redis.commands);
      redis.commands.eval = ((...args: Parameters<typeof evaluate>) =>
        failRefresh ? Promise.reject(new Error('refresh refused')) : evaluate(...args)) as typeof evaluate;
    });
    failRefresh = true;
    const started = performance.now();
    await until('distrusted', TRUST_MS + 2 * HEARTBEAT_INTERVAL_MS, () => !b.cache.trusted);
    assert.ok(performance.now() - started <= TRUST_MS + 50, `lapsed after ${Math.round(performance.now() - started)} ms`);
  });

  it('waits at most ACK_WAIT_MS for a live instance that never confirms, and reports it', async () => {
    const unconfirmed: string[][] = [];
    const a = await instance({ onUnconfirmed: (ids) => unconfirmed.push(ids) });
    // An instance that registered and then stopped answering (its entry expires on its own in 3 s).
    const ghost = `ghost-${Math.random().toString(36).slice(2)}`;
    const [seconds, micros] = (await a.redis.commands.time()).map(Number);
    await a.redis.commands.zadd(INSTANCES_KEY, seconds! * 1000 + Math.floor(micros! / 1000), ghost);
    try {
      const started = performance.now();
      await a.bus.publish('key_ghost');
      const took = performance.now() - started;
      assert.ok(took >= ACK_WAIT_MS - 20 && took < ACK_WAIT_MS + 500, `answered after ${Math.round(took)} ms`);
      assert.deepEqual(unconfirmed, [[ghost]]);
    } finally {
      await a.redis.commands.zrem(INSTANCES_KEY, ghost);
    }
  });
});
