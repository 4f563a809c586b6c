import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../http/errors.js';
import { checkAllowlist, checkRateLimit, checkScopes, mergeRateLimit } from './key-settings.js';

const ceiling = { ceiling_per_minute: 1000, ceiling_per_hour: 60000 };

function refusal(fn: () => unknown): { param: string | undefined; message: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'invalid_request');
    return { param: error.param, message: error.message };
  }
  assert.fail('expected a refusal');
}

describe('key settings', () => {
  it('keeps known scopes in order and drops duplicates', () => {
    assert.deepEqual(checkScopes(['tickets:read', 'contacts:write', 'tickets:read']), ['tickets:read', 'contacts:write']);
  });

  it('names an unknown scope and its position', () => {
    const { param, message } = refusal(() => checkScopes(['tickets:read', 'tickets:delete']));
    assert.equal(param, 'scopes.1');
    assert.match(message, /Unknown scope: tickets:delete/);
  });

  it('normalizes the allowlist and names a bad entry', () => {
    assert.deepEqual(checkAllowlist(['10.0.0.1', '10.0.0.1', '10.9.9.9/8']), ['10.0.0.1', '10.0.0.0/8']);
    const { param, message } = refusal(() => checkAllowlist(['10.0.0.1', '10.0.0.0/40']));
    assert.equal(param, 'ip_allowlist.1');
    assert.match(message, /10\.0\.0\.0\/40/);
  });

  it('names an allowlist entry with an IPv6 zone id', () => {
    const { param, message } = refusal(() => checkAllowlist(['fe80::1', 'fe80::1%eth0']));
    assert.equal(param, 'ip_allowlist.1');
    assert.match(message, /"fe80::1%eth0" has an IPv6 zone id/);
  });

  const limits: Array<[string, { per_minute: number | null; per_hour: number | null }, string | null]> = [
    ['the default', { per_minute: 60, per_hour: null }, null],
    ['per hour only', { per_minute: null, per_hour: 500 }, null],
    ['exactly the ceiling', { per_minute: 1000, per_hour: 60000 }, null],
    ['no window', { per_minute: null, per_hour: null }, 'rate_limit'],
    ['per minute above the ceiling', { per_minute: 1001, per_hour: null }, 'rate_limit.per_minute'],
    ['per hour above the ceiling', { per_minute: 10, per_hour: 60001 }, 'rate_limit.per_hour'],
  ];
  for (const [name, limit, param] of limits) {
    it(`rate limit: ${name}`, () => {
      if (param === null) assert.deepEqual(checkRateLimit(limit, ceiling), limit);
      else {
        const refused = refusal(() => checkRateLimit(limit, ceiling));
        assert.equal(refused.param, param);
        if (param !== 'rate_limit') assert.match(refused.message, /ceiling/);
      }
    });
  }

  it('merges a partial rate limit', () => {
    const current = { per_minute: 60, per_hour: 1000 };
    assert.deepEqual(mergeRateLimit(current, { per_minute: 30 }), { per_minute: 30, per_hour: 1000 });
    assert.deepEqual(mergeRateLimit(current, { per_hour: null }), { per_minute: 60, per_hour: null });
    assert.deepEqual(mergeRateLimit(current, {}), current);
  });
});
