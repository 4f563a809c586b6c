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
  ];
  for (const [input, expected] of accepted) {
    it(`reads ${input} as ${expected}`, () => assert.deepEqual(normalizeAllowlistEntry(input), { ok: true, value: expected }));
  }

  const refused = ['', 'localhost', '1.2.3', '256.1.1.1', '0x7f.1', '1.2.3.4/33', '2001:db8::/129', '1.2.3.4/', '1.2.3.4/x', '1.2.3.4/8/8', '::ffff:1.2.3.4/64', 'a'.repeat(100)];
  for (const input of refused) {
    it(`refuses ${JSON.stringify(input.slice(0, 20))}`, () => assert.equal(normalizeAllowlistEntry(input).ok, false));
  }
});
