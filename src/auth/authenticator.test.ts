import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db } from '../db/client.js';
import { AppError } from '../http/errors.js';
import { generateSecret, hashSecret, withChecksum } from '../keys/key-format.js';
import type { KeysRepo } from '../keys/keys-repo.js';
import { createMemoryStore } from '../ratelimit/memory-store.js';
import { createAuthenticator, type AuthAttempt } from './authenticator.js';
import { KeyCache } from './key-cache.js';

type Row = NonNullable<Awaited<ReturnType<KeysRepo['findBySecretHash']>>>;

const BUDGET = 30;
const NOW = new Date('2026-03-01T10:00:00.000Z');

/** An authenticator over a repo that knows one secret and counts every storage lookup. */
function setUp(fields: Partial<Row> = {}, clock: { now: Date } = { now: NOW }) {
  const good = generateSecret('lk', 'live');
  const row = {
    secret_id: 'sec_1', version: 1, secret_prefix: 'lk_live_abcd…', expires_at: null, secret_revoked_at: null, key_id: 'key_1', workspace_id: 'ws_1',
    name: 'crm', mode: 'live', scopes: ['tickets:read'], key_revoked_at: null, key_expires_at: null, meta: { plan: { tier: 'pro' } },
    workspace_external_id: 'acme-42', rate_limit_per_minute: 1000, rate_limit_per_hour: null, ip_allowlist: [], ...fields,
  } as unknown as Row;
  const lookups: string[] = [];
  const repo: Pick<KeysRepo, 'findBySecretHash'> = {
    findBySecretHash: async (_db, hash) => {
      lookups.push(hash);
      return hash === hashSecret(good) ? row : undefined;
    },
  };
  const authenticator = createAuthenticator({
    db: {} as Db,
    repo,
    cache: new KeyCache(),
    rateLimits: createMemoryStore(),
    usage: { record: () => {} },
    keyPrefix: 'lk',
    isScope: () => true,
    authFailuresPerMinute: BUDGET,
    now: () => clock.now,
  });
  /** The refusal's code, or 'ok'; thrown and rejected alike. */
  async function code(authorization: string | undefined, ip = '192.0.2.1', attempt: AuthAttempt = {}): Promise<string> {
    try {
      await authenticator.authenticate(authorization, ip, attempt);
      return 'ok';
    } catch (error) {
      assert.ok(error instanceof AppError, String(error));
      return error.code;
    }
  }
  return { good, lookups, code, authenticator };
}

/** Malformed keys of a real key's length, each refused by shape, brand, mode or checksum alone. */
function malformed(good: string): Array<[string, string]> {
  const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'a' ? 'b' : 'a') + text.slice(at + 1);
  return [
    ['bad checksum', flip(good, good.length - 1)],
    ['bad character', withChecksum(`lk_live_${'-'.repeat(30)}`)],
    ['a character changed, checksum kept', flip(good, 12)],
    ['wrong brand', withChecksum(`xx_live_${good.slice(8, 38)}`)],
    ['wrong mode', withChecksum(`lk_prod_${good.slice(8, 38)}`)],
  ];
}

describe('authenticator: refused without touching storage', () => {
  it('looks up no malformed key, the first time or the second', async () => {
    const { good, lookups, code } = setUp();
    for (const [name, key] of malformed(good)) {
      assert.equal(key.length, good.length, name);
      for (const time of ['first', 'second']) assert.equal(await code(`Bearer ${key}`, `198.51.100.${time.length}`), 'invalid_api_key', `${name}, ${time} time`);
    }
    assert.deepEqual(lookups, [], 'no storage lookup for a malformed key');
    assert.equal(await code(`Bearer ${good}`), 'ok');
    assert.equal(await code(`Bearer ${generateSecret('lk', 'live')}`), 'invalid_api_key');
    assert.equal(lookups.length, 2, 'a well-formed key is looked up');
  });
});

describe('authenticator: the failure budget of a source address', () => {
  it('counts calls with no key, a malformed key or an unknown key alike; past it, 429 without a lookup', async () => {
    const { good, lookups, code } = setUp();
    const bad = malformed(good);
    const senders: Array<() => string | undefined> = [() => undefined, () => 'Bearer short', () => `Bearer ${bad[0]![1]}`, () => `Bearer ${generateSecret('lk', 'live')}`];
    const codes: string[] = [];
    for (let i = 0; i < BUDGET + 5; i++) codes.push(await code(senders[i % senders.length]!(), '203.0.113.5'));
    assert.deepEqual(new Set(codes.slice(0, BUDGET)), new Set(['missing_api_key', 'invalid_api_key']));
    assert.deepEqual(codes.slice(BUDGET), Array(5).fill('rate_limited'));
    const looked = lookups.length;
    const attempt: AuthAttempt = {};
    assert.equal(await code(`Bearer ${generateSecret('lk', 'live')}`, '203.0.113.5', attempt), 'rate_limited');
    assert.equal(lookups.length, looked, 'a blocked address is refused before any lookup');
    assert.equal(attempt.pastFailureBudget, true, 'the audit log is told');
    assert.equal(await code(`Bearer ${good}`, '203.0.113.6'), 'ok', 'another address is untouched');
  });

  it('leaves a recognised key alone: its calls neither count nor are marked', async () => {
    const { good, code } = setUp();
    for (let i = 0; i < BUDGET + 5; i++) {
      const attempt: AuthAttempt = {};
      assert.equal(await code(`Bearer ${good}`, '203.0.113.7', attempt), 'ok');
      assert.equal(attempt.pastFailureBudget, undefined);
    }
    assert.equal(await code(undefined, '203.0.113.7'), 'missing_api_key', 'the budget is whole');
  });
});

describe('authenticator: the key itself', () => {
  it("expires a cached key at its expires_at, without a lookup, and says so before the allowlist", async () => {
    const clock = { now: NOW };
    const { good, lookups, code } = setUp({ key_expires_at: new Date(NOW.getTime() + 1000), ip_allowlist: ['192.0.2.1'] } as Partial<Row>, clock);
    assert.equal(await code(`Bearer ${good}`), 'ok');
    clock.now = new Date(NOW.getTime() + 999);
    assert.equal(await code(`Bearer ${good}`), 'ok');
    clock.now = new Date(NOW.getTime() + 1000);
    const attempt: AuthAttempt = {};
    assert.equal(await code(`Bearer ${good}`, '198.51.100.1', attempt), 'api_key_expired', 'expired, not ip_not_allowed');
    assert.equal(attempt.key?.id, 'key_1', 'the audit log knows the key');
    assert.equal(lookups.length, 1, 'the expiry came from the clock, not from storage');
  });

  it('hands on a frozen principal with meta, the workspace external id and the prefix', async () => {
    const { good, authenticator } = setUp();
    const { principal } = await authenticator.authenticate(`Bearer ${good}`, '192.0.2.1');
    assert.deepEqual([principal.meta, principal.workspaceExternalId, principal.secretPrefix], [{ plan: { tier: 'pro' } }, 'acme-42', 'lk_live_abcd…']);
    assert.ok(Object.isFrozen(principal.meta) && Object.isFrozen(principal.meta.plan), 'meta is frozen all the way down');
  });

  it('takes `cost` units of the rate limit, from a token given directly', async () => {
    const { good, authenticator } = setUp({ rate_limit_per_minute: 10 } as Partial<Row>);
    assert.equal((await authenticator.authenticateToken(good, '192.0.2.1', {}, 7)).rateLimit.remaining, 3);
    const attempt: AuthAttempt = {};
    await assert.rejects(Promise.resolve().then(() => authenticator.authenticateToken(good, '192.0.2.1', attempt, 4)), (error: AppError) => error.code === 'rate_limited');
    assert.deepEqual([attempt.rateLimit?.allowed, attempt.rateLimit?.remaining], [false, 3]);
    assert.equal((await authenticator.authenticateToken(good, '192.0.2.1', {}, 3)).rateLimit.remaining, 0, 'the refused 4 took nothing');
  });

  it("treats a key outside the caller's workspaces as unknown: no key revealed, nothing counted on it", async () => {
    const { good, authenticator } = setUp({ rate_limit_per_minute: 1 } as Partial<Row>);
    const attempt: AuthAttempt = {};
    await assert.rejects(
      Promise.resolve().then(() => authenticator.authenticateToken(good, '192.0.2.1', attempt, 1, new Set(['ws_other']))),
      (error: AppError) => error.code === 'invalid_api_key',
    );
    assert.deepEqual([attempt.key, attempt.principal, attempt.rateLimit], [undefined, undefined, undefined]);
    assert.equal((await authenticator.authenticateToken(good, '192.0.2.1', {}, 1, new Set(['ws_1']))).rateLimit.remaining, 0, 'its one request is still there');
  });
});
