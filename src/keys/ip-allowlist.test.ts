import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeAllowlistEntry } from './ip-allowlist.js';

describe('allowlist entries', () => {
  const accepted: Array<[string, string]> = [
    ['203.0.113.7', '203.0.113.7'],
    [' 203.0.113.7 ', '203.0.113.7'],
    ['203.0.113.0/24', '203.0.113.0/24'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0::/32', '2001:db8::/32'],
    ['::ffff:198.51.100.4', '198.51.100.4'],
    ['::ffff:198.51.100.0/120', '198.51.100.0/24'],
    ['::/0', '::/0'],
    // IPv4-compatible (deprecated) is not IPv4-mapped: it stays an IPv6 address and never matches 203.0.113.7.
    ['::203.0.113.7', '::cb00:7107'],
    ['::203.0.113.0/120', '::cb00:7100/120'],
    ['64:ff9b::203.0.113.7', '64:ff9b::cb00:7107'],
    ['fe80::1', 'fe80::1'],
  ];
  for (const [input, expected] of accepted) {
    it(`reads ${input} as ${expected}`, () => assert.deepEqual(normalizeAllowlistEntry(input), { ok: true, value: expected }));
  }

  const refused = ['', 'localhost', '1.2.3', '256.1.1.1', '0x7f.1', '1.2.3.4/33', '2001:db8::/129', '1.2.3.4/', '1.2.3.4/x', '1.2.3.4/8/8', '::ffff:1.2.3.4/64', 'a'.repeat(100)];
  for (const input of refused) {
    it(`refuses ${JSON.stringify(input.slice(0, 20))}`, () => assert.equal(normalizeAllowlistEntry(input).ok, false));
  }

  for (const input of ['fe80::1%eth0', 'fe80::1%eth0/64', 'fe80::1%25', '::ffff:203.0.113.7%1']) {
    it(`refuses ${input}: a zone id names an interface of one machine`, () => {
      const result = normalizeAllowlistEntry(input);
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, /zone id \(%/);
    });
  }
});
