import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { AppError } from '../http/errors.js';
import { createMemoryStore } from '../ratelimit/memory-store.js';
import { createRedisStore } from '../ratelimit/redis-store.js';
import { createLoginThrottle, LOGIN_BURST, LOGIN_FAILURES } from './login-throttle.js';

/** 10:00:00.000 UTC on a 15-minute boundary, so every failure budget starts empty and has 900 s to run. */
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError);
    return error;
  }
  assert.fail('expected a refusal');
}

function setup() {
  const store = createMemoryStore();
  return { store, throttle: createLoginThrottle(store) };
}

describe('login throttle', () => {
  it('after 10 failures for one email from one address, refuses that pair until the window ends', async () => {
    const { throttle } = setup();
    for (let i = 0; i < LOGIN_FAILURES.perEmailAndIp.limit; i++) {
      const now = T0 + i * 1000;
      await throttle.admit('ada@example.com', '203.0.113.1', now);
      assert.equal(await throttle.failed('ada@example.com', '203.0.113.1', now), null, `failure ${i + 1} is a plain 401`);
    }
    const refused = await refusal(throttle.admit('ada@example.com', '203.0.113.1', T0 + 20_000));
    assert.equal(refused.code, 'rate_limited');
    assert.equal(refused.headers['Retry-After'], String(900 - 20));
    // Another email from the same address, and the same email from another address, still get in.
    await throttle.admit('bob@example.com', '203.0.113.1', T0 + 20_000);
    await throttle.admit('ada@example.com', '203.0.113.2', T0 + 20_000);
    // The next window starts empty.
    await throttle.admit('ada@example.com', '203.0.113.1', T0 + 900_000);
  });

  it('after 100 failures from one address, whatever the emails, refuses that address', async () => {
    const { throttle } = setup();
    for (let i = 0; i < LOGIN_FAILURES.perIp.limit; i++) {
      assert.equal(await throttle.failed(`user${i}@example.com`, '198.51.100.7', T0 + i * 100), null);
    }
    const refused = await refusal(throttle.admit('someone-new@example.com', '198.51.100.7', T0 + 10_500));
    assert.equal(refused.code, 'rate_limited');
    assert.equal(refused.headers['Retry-After'], String(900 - 10));
    await throttle.admit('someone-new@example.com', '198.51.100.8', T0 + 10_500);
  });

  it('says the same whether the budget of a known or an unknown email ran out', async () => {
    const { throttle } = setup();
    for (const email of ['known@example.com', 'nobody@example.com']) {
      for (let i = 0; i < LOGIN_FAILURES.perEmailAndIp.limit; i++) await throttle.failed(email, '192.0.2.1', T0);
    }
    const [a, b] = await Promise.all([
      refusal(throttle.admit('known@example.com', '192.0.2.1', T0 + 1000)),
      refusal(throttle.admit('nobody@example.com', '192.0.2.1', T0 + 1000)),
    ]);
    assert.deepEqual([a.message, a.headers], [b.message, b.headers]);
    assert.doesNotMatch(a.message, /known|nobody|@/);
  });

  it('lets attempts that succeed use up no failure budget', async () => {
    const { throttle } = setup();
    for (let i = 0; i < 50; i++) await throttle.admit('ada@example.com', '203.0.113.1', T0 + i * 1000);
  });

  it('limits attempts of any outcome per second, so that parallel guesses cannot all be checked', async () => {
    const { throttle } = setup();
    for (let i = 0; i < LOGIN_BURST.perEmailAndIp.limit; i++) await throttle.admit('ada@example.com', '203.0.113.1', T0);
    const refused = await refusal(throttle.admit('ada@example.com', '203.0.113.1', T0 + 999));
    assert.equal(refused.code, 'rate_limited');
    assert.equal(refused.headers['Retry-After'], '1');
    await throttle.admit('ada@example.com', '203.0.113.1', T0 + 1000);

    for (let i = 0; i < LOGIN_BURST.perIp.limit; i++) await throttle.admit(`user${i}@example.com`, '203.0.113.9', T0);
    await refusal(throttle.admit('one-more@example.com', '203.0.113.9', T0));
  });

  it('shares budgets between instances: another instance answers 429 at its first failure past the budget', async () => {
    const { store, throttle: first } = setup();
    const second = createLoginThrottle(store);
    for (let i = 0; i < LOGIN_FAILURES.perEmailAndIp.limit; i++) await first.failed('ada@example.com', '203.0.113.1', T0);
    await refusal(first.admit('ada@example.com', '203.0.113.1', T0 + 1000));
    // The second instance has not seen the budget run out: it checks one more password, then knows.
    await second.admit('ada@example.com', '203.0.113.1', T0 + 1000);
    const found = await second.failed('ada@example.com', '203.0.113.1', T0 + 1000);
    assert.equal(found?.code, 'rate_limited');
    assert.equal(found?.headers['Retry-After'], String(900 - 1));
    await refusal(second.admit('ada@example.com', '203.0.113.1', T0 + 2000));
  });

  /** Fails `email` once from each of `count` addresses (198.18.x.y): the account's budget, no address's. */
  async function failFromMany(throttle: ReturnType<typeof createLoginThrottle>, email: string, count: number, now: number) {
    const answers = [];
    for (let i = 0; i < count; i++) answers.push(await throttle.failed(email, `198.18.${i >> 8}.${i & 255}`, now));
    return answers;
  }

  it('after 50 failures for one email from all addresses, refuses addresses that never signed in to it, again and again', async () => {
    const { throttle } = setup();
    const answers = await failFromMany(throttle, 'ada@example.com', LOGIN_FAILURES.perEmail.limit, T0);
    assert.deepEqual(answers, Array(LOGIN_FAILURES.perEmail.limit).fill(null), 'each failure is a plain 401 until the budget is used up');
    for (const [i, ip] of ['203.0.113.50', '203.0.113.50', '203.0.113.50', '2001:db8::50'].entries()) {
      // Asking whether an address is remembered must not make it remembered: the same address stays refused.
      const refused = await refusal(throttle.admit('ada@example.com', ip, T0 + 10_000 + i));
      assert.equal(refused.code, 'rate_limited');
      assert.equal(refused.headers['Retry-After'], String(900 - 10));
    }
    // Other accounts are not touched, and the next window starts open.
    await throttle.admit('bob@example.com', '203.0.113.50', T0 + 10_000);
    await throttle.admit('ada@example.com', '203.0.113.50', T0 + 900_000);
  });

  it("lets the owner's remembered address through a locked account, on its own per-address budget", async () => {
    const { throttle } = setup();
    await throttle.succeeded('ada@example.com', '192.0.2.10', T0 - 86_400_000);
    // The owner's IPv6 laptop moves within its /64: remembered as the /64.
    await throttle.succeeded('ada@example.com', '2001:db8:aa:1::1', T0 - 86_400_000);
    await failFromMany(throttle, 'ada@example.com', LOGIN_FAILURES.perEmail.limit, T0);
    await refusal(throttle.admit('ada@example.com', '203.0.113.51', T0 + 1000));
    await throttle.admit('ada@example.com', '192.0.2.10', T0 + 1000);
    await throttle.admit('ada@example.com', '2001:db8:aa:1:abcd::9', T0 + 1000);
    // A mistyped password from the owner's address is a plain 401, up to that address's own budget.
    for (let i = 0; i < LOGIN_FAILURES.perEmailAndIp.limit - 1; i++) {
      assert.equal(await throttle.failed('ada@example.com', '192.0.2.10', T0 + 2000 + i), null, `owner failure ${i + 1}`);
    }
    assert.equal(await throttle.failed('ada@example.com', '192.0.2.10', T0 + 3000), null, 'the failure that fills its own budget');
    await refusal(throttle.admit('ada@example.com', '192.0.2.10', T0 + 4000));
    // Being remembered for ada says nothing about other accounts.
    await failFromMany(throttle, 'bob@example.com', LOGIN_FAILURES.perEmail.limit, T0);
    await refusal(throttle.admit('bob@example.com', '2001:db8:aa:1::1', T0 + 5000));
  });

  it('answers a locked account on another instance at its first failure, except from a remembered address', async () => {
    const { store, throttle: first } = setup();
    const second = createLoginThrottle(store);
    await first.succeeded('ada@example.com', '192.0.2.10', T0 - 1000);
    await failFromMany(first, 'ada@example.com', LOGIN_FAILURES.perEmail.limit, T0);
    // The second instance has not seen the lockout: it checks the password, then answers 429 for a stranger.
    await second.admit('ada@example.com', '203.0.113.52', T0 + 1000);
    assert.equal((await second.failed('ada@example.com', '203.0.113.52', T0 + 1000))?.code, 'rate_limited');
    assert.equal(await second.failed('ada@example.com', '192.0.2.10', T0 + 1000), null);
  });

  it('remembers a sign-in made just before a 30-day window ends', async () => {
    const { throttle } = setup();
    const thirtyDays = 30 * 86_400_000;
    const boundary = Math.ceil(T0 / thirtyDays) * thirtyDays;
    await throttle.succeeded('ada@example.com', '192.0.2.10', boundary - 60_000);
    const later = boundary + 3_600_000;
    await failFromMany(throttle, 'ada@example.com', LOGIN_FAILURES.perEmail.limit, later);
    await refusal(throttle.admit('ada@example.com', '203.0.113.53', later + 1000));
    await throttle.admit('ada@example.com', '192.0.2.10', later + 1000);
  });

  it('forgets a sign-in after 30 days', async () => {
    const { throttle } = setup();
    await throttle.succeeded('ada@example.com', '192.0.2.10', T0);
    const later = T0 + 31 * 86_400_000;
    await failFromMany(throttle, 'ada@example.com', LOGIN_FAILURES.perEmail.limit, later);
    await refusal(throttle.admit('ada@example.com', '192.0.2.10', later + 1000));
  });

  it('counts an IPv6 source per /64: new addresses in the same /64 share its budgets', async () => {
    const { throttle } = setup();
    for (let i = 0; i < LOGIN_FAILURES.perEmailAndIp.limit; i++) {
      assert.equal(await throttle.failed('ada@example.com', `2001:db8:1:2::${(i + 1).toString(16)}`, T0), null);
    }
    await refusal(throttle.admit('ada@example.com', '2001:db8:1:2:ffff:ffff:ffff:ffff', T0 + 1000));
    await throttle.admit('ada@example.com', '2001:db8:1:3::1', T0 + 1000);
  });
});

// The remembered-address question relies on what a refused request reports; Redis must answer it alike.
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 1, retryStrategy: () => null });
redis.on('error', () => {});
const redisDown = await redis.connect().then(
  () => null,
  (error: Error) => error.message,
);

describe('login throttle on Redis', { skip: redisDown !== null && process.env.CI !== 'true' ? `Redis unreachable: ${redisDown}` : false }, () => {
  after(() => redis.disconnect());

  it("lets the owner's remembered address through a locked account, and only it", async () => {
    assert.equal(redisDown, null, `Redis unreachable at ${redisUrl}`);
    const throttle = createLoginThrottle(createRedisStore(redis));
    // Real time (keys expire at their window's end), on a fresh 15-minute window.
    const start = Math.ceil(Date.now() / 900_000) * 900_000;
    const email = `ada-${randomUUID()}@example.com`;
    await throttle.succeeded(email, '192.0.2.10', start - 1000);
    for (let i = 0; i < LOGIN_FAILURES.perEmail.limit; i++) await throttle.failed(email, `198.18.0.${i}`, start);
    for (let i = 0; i < 3; i++) await refusal(throttle.admit(email, '203.0.113.50', start + 1000 + i));
    await throttle.admit(email, '192.0.2.10', start + 1000);
  });
});

