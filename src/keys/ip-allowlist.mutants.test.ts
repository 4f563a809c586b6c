import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeAllowlistEntry } from './ip-allowlist.js';

// Cases beside ip-allowlist.test.ts's, which the mutation run (npm run mutation, docs/quality.md) showed no
// test decided: the reason given for each refusal, and the prefix-length bounds.
describe('allowlist entries: reasons and bounds', () => {
  const refused: Array<[string, string]> = [
    ['localhost', 'is not an IP address or CIDR range'],
    ['1.2.3.4/x8', 'has a prefix length that is not a number'],
    ['1.2.3.4/8x', 'has a prefix length that is not a number'],
    ['1.2.3.4/0008', 'has a prefix length that is not a number'],
    ['1.2.3.4/33', 'has a prefix length above /32'],
    ['2001:db8::/129', 'has a prefix length above /128'],
    ['::ffff:1.2.3.4/95', 'is an IPv4-mapped range shorter than /96'],
    // Longer than any address with its prefix, whatever node's parser would make of it (a zone id here).
    [`fe80::1%${'x'.repeat(60)}`, 'is not an IP address or CIDR range'],
  ];
  for (const [input, reason] of refused) {
    it(`refuses ${JSON.stringify(input.slice(0, 24))}: ${reason}`, () => assert.deepEqual(normalizeAllowlistEntry(input), { ok: false, reason }));
  }

  const accepted: Array<[string, string]> = [
    ['1.2.3.4/32', '1.2.3.4/32'],
    ['2001:db8::1/128', '2001:db8::1/128'],
    ['::ffff:1.2.3.4/96', '0.0.0.0/0'],
  ];
  for (const [input, value] of accepted) {
    it(`reads ${input} as ${value}`, () => assert.deepEqual(normalizeAllowlistEntry(input), { ok: true, value }));
  }
});
