import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isId, newId, timeOfId } from './ids.js';

describe('ids', () => {
  it('are prefixed, 26 characters of Crockford base32, and carry their time', () => {
    for (const ms of [0, 1, Date.UTC(2026, 10, 23), 2 ** 48 - 1]) {
      const id = newId('key', ms);
      assert.ok(isId('key', id), id);
      assert.equal(timeOfId(id)?.getTime(), ms > Date.UTC(9999, 0, 1) ? undefined : ms);
    }
  });

  it('sort by time', () => {
    const ids = [5, 1_000, 1_700_000_000_000, 1_700_000_000_001].map((ms) => newId('evt', ms));
    assert.deepEqual([...ids].sort(), ids);
  });

  it('never repeat, and use the whole alphabet in their random part', () => {
    const ids = Array.from({ length: 5000 }, () => newId('req', 0));
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(new Set(ids.map((id) => id.slice(14)).join('')).size, 32);
  });

  const good = newId('key', Date.UTC(2026, 0, 1));
  const refused: Array<[string, string]> = [
    ['another prefix', `ws_${good.slice(4)}`],
    ['a prefix that starts the same', `keys_${good.slice(4)}`],
    ['no underscore', good.replace('_', '-')],
    ['a NUL', `${good.slice(0, -1)}\u0000`],
    ['a letter outside the alphabet', `${good.slice(0, -1)}u`],
    ['upper case', good.toUpperCase()],
    ['one short', good.slice(0, -1)],
    ['one long', `${good}0`],
    ['unicode', `key_${'é'.repeat(26)}`],
    ['a lone surrogate', `${good.slice(0, -1)}\ud800`],
    ['empty', ''],
  ];
  for (const [what, id] of refused) {
    it(`isId refuses ${what}`, () => assert.equal(isId('key', id), false));
  }
});
