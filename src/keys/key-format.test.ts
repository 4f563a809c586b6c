import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { crc32Ascii, displayPrefix, generateSecret, hashSecret, KEY_PATTERN, parseSecret } from './key-format.js';

describe('key format', () => {
  it('generates {brand}_{mode}_{random}{checksum} that parses back', () => {
    for (const [brand, mode] of [['lk', 'live'], ['omf', 'test'], ['sf1', 'live']] as const) {
      const secret = generateSecret(brand, mode);
      assert.match(secret, new RegExp(`^${brand}_${mode}_[0-9A-Za-z]{36}$`));
      assert.deepEqual(parseSecret(secret, brand)?.mode, mode);
    }
  });

  it('sums the checksum as zlib does, so keys issued with zlib\'s crc32 still parse', () => {
    for (let i = 0; i < 200; i++) {
      const secret = generateSecret('lk', i % 2 ? 'live' : 'test');
      assert.equal(crc32Ascii(secret), crc32(secret));
    }
  });

  it('never repeats a secret', () => {
    const seen = new Set(Array.from({ length: 2000 }, () => generateSecret('lk', 'live')));
    assert.equal(seen.size, 2000);
  });

  it('uses every base62 character in the random part', () => {
    const chars = new Set(Array.from({ length: 500 }, () => generateSecret('lk', 'live').slice(8, 38)).join(''));
    assert.equal(chars.size, 62);
  });

  const valid = generateSecret('lk', 'live');
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
  const refusals: Array<[string, string]> = [
    ['empty', ''],
    ['wrong brand', valid.replace(/^lk/, 'xx')],
    ['unknown mode', valid.replace('_live_', '_prod_')],
    ['one random char changed', flip(valid, 12)],
    ['checksum changed', flip(valid, valid.length - 1)],
    ['too short', valid.slice(0, -1)],
    ['too long', `${valid}a`],
    ['illegal character', `${valid.slice(0, 10)}-${valid.slice(11)}`],
    ['whitespace', ` ${valid}`],
    ['huge', 'lk_live_'.padEnd(10_000, 'a')],
  ];
  for (const [name, input] of refusals) {
    it(`refuses a key with ${name}`, () => assert.equal(parseSecret(input, 'lk'), null));
  }

  it('shows brand, mode and four random characters as the display prefix', () => {
    const secret = generateSecret('omf', 'test');
    assert.equal(displayPrefix(secret), `omf_test_${secret.slice(9, 13)}…`);
  });

  it('hashes to 64 hex characters, the same every time', () => {
    assert.equal(hashSecret(valid), hashSecret(valid));
    assert.match(hashSecret(valid), /^[0-9a-f]{64}$/);
  });

  it('finds keys in free text for redaction and scanning', () => {
    const text = `token=${valid} and ${generateSecret('omf', 'test')}; not lk_live_short`;
    assert.equal(text.match(KEY_PATTERN)?.length, 2);
  });
});
