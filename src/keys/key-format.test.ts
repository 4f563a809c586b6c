import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { BASE62, CHECKSUM_LENGTH, crc32Ascii, displayPrefix, generateSecret, hashSecret, KEY_PATTERN, parseSecret, RANDOM_LENGTH, withChecksum } from './key-format.js';

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

  // Each position on its own: a check that skips one position (a loop bound off by one) lets through
  // every key wrong only there, which a single flipped character elsewhere never shows.
  const body = valid.slice(0, -CHECKSUM_LENGTH);
  const randomAt = 'lk_live_'.length;
  const replace = (s: string, i: number, c: string) => s.slice(0, i) + c + s.slice(i + 1);
  /** Another base62 character than the one at `i`: still a legal character, so only the sum can refuse it. */
  const other = (s: string, i: number) => BASE62[(BASE62.indexOf(s[i]!) + 1) % BASE62.length]!;

  it('refuses a wrong checksum character at every checksum position', () => {
    for (let i = body.length; i < valid.length; i++) {
      assert.equal(parseSecret(replace(valid, i, other(valid, i)), 'lk'), null, `checksum position ${i - body.length}`);
    }
  });

  it('refuses a changed random character at every position when the checksum is not recomputed', () => {
    for (let i = randomAt; i < body.length; i++) assert.equal(parseSecret(replace(valid, i, other(valid, i)), 'lk'), null, `random position ${i - randomAt}`);
  });

  it('refuses an illegal character at every random position even with a checksum that matches it', () => {
    const illegal = ['-', '_', ' ', '.', '+', '/', '=', '\0', '~', 'é', '\u0130', '\u{1F511}'.slice(0, 1)];
    for (let i = randomAt; i < body.length; i++) {
      // The control: a legal character there, checksum recomputed, parses; so only the character check can refuse what follows.
      assert.notEqual(parseSecret(withChecksum(replace(body, i, other(body, i))), 'lk'), null, `control at random position ${i - randomAt}`);
      for (const c of illegal) {
        const planted = withChecksum(replace(body, i, c));
        assert.equal(planted.length, valid.length);
        assert.equal(parseSecret(planted, 'lk'), null, `${JSON.stringify(c)} at random position ${i - randomAt}`);
      }
    }
    assert.equal(body.length - randomAt, RANDOM_LENGTH);
  });

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
