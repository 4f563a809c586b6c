import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BASE62, CHECKSUM_LENGTH, displayPrefix, isWellFormedSecret, parseSecret, RANDOM_LENGTH, randomBase62, secretLength, secretMode, withChecksum } from './key-format.js';

// Cases beside key-format.test.ts's, which the mutation run (npm run mutation, docs/quality.md) showed no
// test decided: characters outside base62 under a right checksum, the first checksum digit, the brand's
// anchors, and the random part's uniformity.
const RANDOM = 'A'.repeat(RANDOM_LENGTH);

describe('key format: what a right checksum does not excuse', () => {
  const refused: Array<[string, string, string]> = [
    ['a mode that is neither live nor test', withChecksum(`lk_tset_${RANDOM}`), 'lk'],
    ['a dash in the random part', withChecksum(`lk_live_-${RANDOM.slice(1)}`), 'lk'],
    ['a non-ASCII character in the random part', withChecksum(`lk_live_é${RANDOM.slice(1)}`), 'lk'],
    ['an underscore at the end of the random part', withChecksum(`lk_live_${RANDOM.slice(1)}_`), 'lk'],
    ['a brand that does not start with a letter', withChecksum(`_lk_live_${RANDOM}`), '_lk'],
    ['a brand longer than 12 characters', withChecksum(`abcdefghijklm_live_${RANDOM}`), 'abcdefghijklm'],
    ['a brand with a capital', withChecksum(`Lk_live_${RANDOM}`), 'Lk'],
  ];
  for (const [name, secret, brand] of refused) it(`refuses ${name}`, () => assert.equal(secretMode(secret, brand), null));

  it('checks every checksum digit, the first one too', () => {
    const secret = withChecksum(`lk_live_${RANDOM}`);
    const at = secret.length - CHECKSUM_LENGTH;
    const other = secret[at] === '0' ? '1' : '0';
    assert.equal(secretMode(secret, 'lk'), 'live');
    assert.equal(secretMode(`${secret.slice(0, at)}${other}${secret.slice(at + 1)}`, 'lk'), null);
  });

  it('parses the random part exactly, and knows the length of a brand\'s keys', () => {
    const random = randomBase62(RANDOM_LENGTH);
    const secret = withChecksum(`acme_test_${random}`);
    assert.deepEqual(parseSecret(secret, 'acme'), { brand: 'acme', mode: 'test', random });
    assert.equal(secretLength('acme'), secret.length);
    assert.equal(secretLength('lk'), 44);
    assert.equal(isWellFormedSecret(secret, 'acme'), true);
    assert.equal(isWellFormedSecret(`${secret}x`, 'acme'), false);
  });

  it('shows a prefix even of a truncated key', () => assert.equal(displayPrefix('lk_live'), 'lk_live_…'));
});

describe('random part', () => {
  it('draws every base62 character alike (no byte of 248 or above folded in)', () => {
    const text = randomBase62(124_000);
    assert.equal(text.length, 124_000);
    const counts = new Map<string, number>();
    for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
    assert.equal(counts.size, BASE62.length);
    // 2,000 expected each (σ ≈ 44); folding bytes 248–255 in would give '0'–'7' about 2,480.
    for (const [char, n] of counts) assert.ok(n > 1_750 && n < 2_250, `${char}: ${n}`);
  });
});
