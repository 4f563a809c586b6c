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
