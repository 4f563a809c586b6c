import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCurrentSecret, MAX_OVERLAP_SECONDS, planRotation, secretState } from './lifecycle.js';

const now = new Date('2026-11-23T12:00:00Z');
const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);

describe('secret state', () => {
  const cases: Array<[string, { expires_at: Date | null; revoked_at: Date | null }, string]> = [
    ['no expiry', { expires_at: null, revoked_at: null }, 'active'],
    ['expiry ahead', { expires_at: at(60), revoked_at: null }, 'expiring'],
    ['expiry now', { expires_at: now, revoked_at: null }, 'expired'],
    ['expiry past', { expires_at: at(-1), revoked_at: null }, 'expired'],
    ['revoked, expiry ahead', { expires_at: at(60), revoked_at: at(-5) }, 'revoked'],
    ['revoked, no expiry', { expires_at: null, revoked_at: at(-5) }, 'revoked'],
  ];
  for (const [name, secret, state] of cases) it(`${name} is ${state}`, () => assert.equal(secretState(secret, now), state));
});

describe('rotation plan', () => {
  it('gives the current version the overlap and numbers the next', () => {
    const plan = planRotation([{ id: 'a', version: 1, expires_at: null, revoked_at: null }], now, 86400);
    assert.deepEqual(plan, { version: 2, expire: [{ id: 'a', at: at(86400) }] });
  });

  it('ends the current version at once with a zero overlap', () => {
    const plan = planRotation([{ id: 'a', version: 1, expires_at: null, revoked_at: null }], now, 0);
    assert.deepEqual(plan.expire, [{ id: 'a', at: now }]);
  });

  it('ends an older version still in its overlap, so at most two work', () => {
    const plan = planRotation(
      [
        { id: 'b', version: 2, expires_at: null, revoked_at: null },
        { id: 'a', version: 1, expires_at: at(3600), revoked_at: null },
      ],
      now,
      600,
    );
    assert.deepEqual(plan, { version: 3, expire: [{ id: 'b', at: at(600) }, { id: 'a', at: now }] });
  });

  it('leaves dead versions alone and never reuses a version number', () => {
    const plan = planRotation(
      [
        { id: 'c', version: 3, expires_at: null, revoked_at: null },
        { id: 'b', version: 2, expires_at: null, revoked_at: at(-10) },
        { id: 'a', version: 1, expires_at: at(-10), revoked_at: null },
      ],
      now,
      60,
    );
    assert.deepEqual(plan, { version: 4, expire: [{ id: 'c', at: at(60) }] });
  });

  it('never extends a version that already expires sooner', () => {
    const plan = planRotation([{ id: 'a', version: 1, expires_at: at(30), revoked_at: null }], now, 3600);
    assert.deepEqual(plan.expire, [{ id: 'a', at: at(30) }]);
  });
});

describe('current secret', () => {
  it('is the newest version', () => {
    const secrets = [
      { id: 'a', version: 1, expires_at: at(10), revoked_at: null },
      { id: 'b', version: 2, expires_at: null, revoked_at: null },
    ];
    assert.equal(isCurrentSecret(secrets, 'b'), true);
    assert.equal(isCurrentSecret(secrets, 'a'), false);
  });
});

// Cases that the mutation run (npm run mutation, docs/quality.md) showed no test decided.
describe('lifecycle edge cases', () => {
  it('caps the overlap at seven days', () => assert.equal(MAX_OVERLAP_SECONDS, 7 * 24 * 3600));

  it('takes the highest usable version as current whatever the order the rows come in', () => {
    const plan = planRotation(
      [
        { id: 'a', version: 1, expires_at: at(3600), revoked_at: null },
        { id: 'b', version: 2, expires_at: null, revoked_at: null },
      ],
      now,
      600,
    );
    assert.deepEqual(plan, { version: 3, expire: [{ id: 'b', at: at(600) }, { id: 'a', at: now }] });
  });

  it('ends a version that expires later than the new overlap when the overlap ends', () => {
    const plan = planRotation([{ id: 'a', version: 1, expires_at: at(7200), revoked_at: null }], now, 600);
    assert.deepEqual(plan.expire, [{ id: 'a', at: at(600) }]);
  });

  it('plans only a new version when no version is usable', () => {
    const plan = planRotation([{ id: 'a', version: 4, expires_at: null, revoked_at: at(-1) }], now, 600);
    assert.deepEqual(plan, { version: 5, expire: [] });
    assert.deepEqual(planRotation([], now, 600), { version: 1, expire: [] });
  });

  it('finds the newest version whatever the order, and none in an empty list', () => {
    const secrets = [
      { id: 'b', version: 2, expires_at: null, revoked_at: null },
      { id: 'a', version: 1, expires_at: at(10), revoked_at: null },
    ];
    assert.equal(isCurrentSecret(secrets, 'b'), true);
    assert.equal(isCurrentSecret(secrets, 'a'), false);
    assert.equal(isCurrentSecret([], 'a'), false);
  });
});
