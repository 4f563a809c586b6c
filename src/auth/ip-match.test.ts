import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileAllowlist } from './ip-match.js';

describe('allowlist matching', () => {
  const cases: Array<[string[], string, boolean]> = [
    [[], '198.51.100.1', true],
    [['203.0.113.7'], '203.0.113.7', true],
    [['203.0.113.7'], '203.0.113.8', false],
    [['203.0.113.0/24'], '203.0.113.255', true],
    [['203.0.113.0/24'], '203.0.114.0', false],
    [['203.0.113.0/24'], '::ffff:203.0.113.9', true],
    [['203.0.113.7'], '::ffff:203.0.113.7', true],
    [['2001:db8::/32'], '2001:db8:1234::1', true],
    [['2001:db8::/32'], '2001:db9::1', false],
    [['2001:db8::1'], '2001:0db8:0000::0001', true],
    [['0.0.0.0/0'], '8.8.8.8', true],
    [['0.0.0.0/0'], '2001:db8::1', false],
    [['::/0'], '2001:db8::1', true],
    [['10.0.0.0/8', '2001:db8::/32'], '2001:db8::5', true],
    [['10.0.0.0/8'], 'not-an-ip', false],
    [['10.0.0.0/8'], '', false],
    // Only the IPv4-mapped form is the IPv4 host; the IPv4-compatible ::a.b.c.d is another address.
    [['203.0.113.7'], '::203.0.113.7', false],
    [['203.0.113.0/24'], '::203.0.113.9', false],
    [['::cb00:7107'], '203.0.113.7', false],
    [['::cb00:7107'], '::203.0.113.7', true],
    [['::cb00:7100/120'], '::203.0.113.9', true],
    [['::/0'], '::ffff:203.0.113.7', false],
    [['fe80::/10'], 'fe80::1%eth0', false],
  ];
  for (const [entries, ip, expected] of cases) {
    it(`${JSON.stringify(entries)} ${expected ? 'allows' : 'refuses'} ${ip || '(empty)'}`, () => {
      assert.equal(compileAllowlist(entries)(ip), expected);
    });
  }
});

// The matcher remembers its answers per source address; each case above calls a new matcher once, so
// only these reach the remembered path: the same matcher, asked again and again, in mixed order.
describe('allowlist matching, asked repeatedly', () => {
  const entries = ['203.0.113.0/24', '2001:db8::/32'];
  const allowed = ['203.0.113.7', '::ffff:203.0.113.8', '2001:db8::1', '203.0.113.255'];
  const refused = ['198.51.100.7', '::203.0.113.7', '2001:db9::1', 'not-an-ip', '', '203.0.114.0'];

  it('gives every address the same answer each time, whatever was asked before', () => {
    const allows = compileAllowlist(entries);
    for (let round = 0; round < 5; round++) {
      // Refused first in even rounds, allowed first in odd ones, interleaved.
      const order = round % 2 === 0 ? [...refused, ...allowed] : allowed.flatMap((a, i) => [a, refused[i] ?? refused[0]!]);
      for (const ip of order) assert.equal(allows(ip), allowed.includes(ip), `round ${round}: ${ip || '(empty)'}`);
    }
  });

  it('keeps its answers right past the memo bound: thousands of distinct addresses, then the first ones again', () => {
    const allows = compileAllowlist(['203.0.113.0/24']);
    const addresses = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `203.0.113.${i % 256}` : `198.51.${(i >> 8) % 256}.${i % 256}`));
    for (let pass = 0; pass < 3; pass++) {
      for (const ip of addresses) assert.equal(allows(ip), ip.startsWith('203.0.113.'), `pass ${pass}: ${ip}`);
      // Refused addresses asked right after an allowed one, and the reverse.
      for (const ip of ['198.51.100.1', '203.0.113.1', '198.51.100.1', '203.0.113.1']) assert.equal(allows(ip), ip.startsWith('203.'), `pass ${pass}: ${ip}`);
    }
  });
});
