import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../http/errors.js';
import { productOf, REFERENCE_PRODUCT } from '../product/product.js';
import { checkAllowlist, checkRateLimit, checkScopes, fitToCeiling, mergeRateLimit, type RateLimit } from './key-settings.js';

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
    assert.deepEqual(checkScopes(['tickets:read', 'contacts:write', 'tickets:read'], REFERENCE_PRODUCT), ['tickets:read', 'contacts:write']);
  });

  it("checks against the deployment's catalog, not the reference one", () => {
    const acme = productOf({ name: 'Acme', scopes: [{ scope: 'invoices:read', group: 'Invoices', description: 'Read invoices' }] });
    assert.deepEqual(checkScopes(['invoices:read'], acme), ['invoices:read']);
    const { param, message } = refusal(() => checkScopes(['invoices:read', 'tickets:read'], acme));
    assert.equal(param, 'scopes.1');
    assert.match(message, /Unknown scope: tickets:read/);
    assert.equal(refusal(() => checkScopes(['invoices:read'], REFERENCE_PRODUCT)).param, 'scopes.0');
  });

  it('names an unknown scope and its position', () => {
    const { param, message } = refusal(() => checkScopes(['tickets:read', 'tickets:delete'], REFERENCE_PRODUCT));
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

  // The two holes of issue #10.2, and their neighbours: an open window is filled only when the other
  // would let the key past the ceiling's.
  const small = { ceiling_per_minute: 100, ceiling_per_hour: 200 };
  const fills: Array<[string, RateLimit, typeof ceiling, RateLimit]> = [
    ['per hour only, at the hour ceiling: the minute ceiling fills', { per_minute: null, per_hour: 60000 }, ceiling, { per_minute: 1000, per_hour: 60000 }],
    ['per hour only, within the minute ceiling: stays open', { per_minute: null, per_hour: 1000 }, ceiling, { per_minute: null, per_hour: 1000 }],
    ['per hour only, one over the minute ceiling: fills', { per_minute: null, per_hour: 1001 }, ceiling, { per_minute: 1000, per_hour: 1001 }],
    ['per minute only, 60 x over the hour ceiling: the hour ceiling fills', { per_minute: 100, per_hour: null }, small, { per_minute: 100, per_hour: 200 }],
    ['per minute only, 60 x exactly the hour ceiling: stays open', { per_minute: 1000, per_hour: null }, ceiling, { per_minute: 1000, per_hour: null }],
    ['per minute only, 60 x one over the hour ceiling', { per_minute: 4, per_hour: null }, small, { per_minute: 4, per_hour: 200 }],
    ['per minute only, 60 x under the hour ceiling', { per_minute: 3, per_hour: null }, small, { per_minute: 3, per_hour: null }],
    ['the default under the default ceiling', { per_minute: 60, per_hour: null }, ceiling, { per_minute: 60, per_hour: null }],
    ['both windows: kept as given', { per_minute: 50, per_hour: 3 }, small, { per_minute: 50, per_hour: 3 }],
    ['both above a lowered ceiling: brought down', { per_minute: 1000, per_hour: 60000 }, small, { per_minute: 100, per_hour: 200 }],
    ['per minute above a lowered ceiling, no hour: down, and the hour fills', { per_minute: 1000, per_hour: null }, small, { per_minute: 100, per_hour: 200 }],
    ['per hour above a lowered ceiling, no minute: down, and the minute fills', { per_minute: null, per_hour: 60000 }, small, { per_minute: 100, per_hour: 200 }],
    ['per hour above a lowered ceiling, down to within the minute ceiling', { per_minute: null, per_hour: 500 }, { ceiling_per_minute: 300, ceiling_per_hour: 250 }, { per_minute: null, per_hour: 250 }],
  ];
  for (const [name, limit, within, expected] of fills) {
    it(`fits to the ceiling: ${name}`, () => {
      const fitted = fitToCeiling(limit, within);
      assert.deepEqual(fitted, expected);
      // Whatever it gives is held by every window of the ceiling, and fitting again changes nothing.
      assert.ok((fitted.per_minute ?? fitted.per_hour ?? Infinity) <= within.ceiling_per_minute);
      assert.ok((fitted.per_hour ?? (fitted.per_minute ?? Infinity) * 60) <= within.ceiling_per_hour);
      assert.deepEqual(fitToCeiling(fitted, within), fitted);
    });
  }

  it('gives a new key the filled window: what checkRateLimit returns is what the key gets', () => {
    assert.deepEqual(checkRateLimit({ per_minute: null, per_hour: 60000 }, ceiling), { per_minute: 1000, per_hour: 60000 });
    assert.deepEqual(checkRateLimit({ per_minute: 100, per_hour: null }, small), { per_minute: 100, per_hour: 200 });
  });

  it('merges a partial rate limit', () => {
    const current = { per_minute: 60, per_hour: 1000 };
    assert.deepEqual(mergeRateLimit(current, { per_minute: 30 }), { per_minute: 30, per_hour: 1000 });
    assert.deepEqual(mergeRateLimit(current, { per_hour: null }), { per_minute: 60, per_hour: null });
    assert.deepEqual(mergeRateLimit(current, {}), current);
  });
});
