import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../http/errors.js';
import { generateSecret, generateServiceSecret } from './key-format.js';
import { checkExpiry, checkMeta, MAX_META_BYTES } from './key-meta.js';

const NOW = new Date('2026-06-01T12:00:00Z');

function param(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof AppError);
    return error.code === 'invalid_request' ? error.param : error.code;
  }
}

describe('key meta', () => {
  it('takes an object up to 4 KB as JSON, and no more', () => {
    const fits = { note: 'x'.repeat(MAX_META_BYTES - '{"note":""}'.length) };
    assert.equal(checkMeta(fits).length, MAX_META_BYTES);
    assert.equal(param(() => checkMeta({ note: `${fits.note}x` })), 'meta');
    assert.equal(param(() => checkMeta({ note: 'é'.repeat(2100) })), 'meta', 'bytes, not characters');
    assert.equal(checkMeta({}), '{}');
  });

  it('refuses anything shaped like one of our keys, wherever it hides', () => {
    const live = generateSecret('lk', 'live');
    const cases: Array<[string, Record<string, unknown>]> = [
      ['a value', { token: live }],
      ['another brand', { t: generateSecret('acme', 'test') }],
      ['a service key', { t: generateServiceSecret('lk') }],
      ['nested in an array', { a: [{ b: [`prefix ${live} suffix`] }] }],
      ['a field name', { [live]: 1 }],
    ];
    for (const [name, meta] of cases) assert.equal(param(() => checkMeta(meta)), 'meta', name);
    assert.equal(param(() => checkMeta({ customer: 'cus_123', plan: 'pro', seats: 5, tags: ['a'], live_test_mode: true })), undefined);
  });
});

describe('key meta storage', () => {
  it('refuses what jsonb cannot store (NUL, a lone surrogate) with 400 meta, not a database error', () => {
    assert.equal(param(() => checkMeta({ note: 'a\u0000b' })), 'meta');
    assert.equal(param(() => checkMeta({ note: '\ud800' })), 'meta');
    assert.equal(param(() => checkMeta({ ['\u0000']: 1 })), 'meta', 'in a field name too');
  });
});

describe('key expiry', () => {
  it('must be in the future; null clears it', () => {
    assert.equal(checkExpiry(null, NOW), null);
    assert.deepEqual(checkExpiry('2026-06-01T12:00:01Z', NOW), new Date('2026-06-01T12:00:01Z'));
    assert.deepEqual(checkExpiry('2026-06-01T14:00:01+02:00', NOW), new Date('2026-06-01T12:00:01Z'));
    assert.equal(param(() => checkExpiry('2026-06-01T12:00:00Z', NOW)), 'expires_at', 'now is not the future');
    assert.equal(param(() => checkExpiry('2020-01-01T00:00:00Z', NOW)), 'expires_at');
  });
});
