import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { budgetAddress, canonicalIp } from './client-ip.js';

const CANONICAL: Array<[string, string | null]> = [
  ['198.51.100.9', '198.51.100.9'],
  ['0.0.0.0', '0.0.0.0'],
  ['::ffff:198.51.100.9', '198.51.100.9'],
  ['::FFFF:198.51.100.9', '198.51.100.9'],
  ['::ffff:c633:6409', '198.51.100.9'],
  ['0:0:0:0:0:ffff:198.51.100.9', '198.51.100.9'],
  ['2001:db8::1', '2001:db8::1'],
  ['2001:0db8::1', '2001:db8::1'],
  ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
  ['2001:DB8::1', '2001:db8::1'],
  ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
  ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
  ['2001:db8::1:0:0:1', '2001:db8::1:0:0:1'],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ['::1', '::1'],
  ['0:0:0:0:0:0:0:1', '::1'],
  ['::', '::'],
  ['fe80::1%eth0', 'fe80::1'],
  // IPv4-compatible (deprecated) is an IPv6 address, not the IPv4 host: allowlists read it the same way.
  ['::203.0.113.7', '::cb00:7107'],
  ['::0:203.0.113.7', '::cb00:7107'],
  // Not addresses.
  ['', null],
  ['unknown', null],
  ['198.51.100.9:443', null],
  ['[::1]', null],
  ['0x7f.1', null],
  ['127.1', null],
  ['01.2.3.4', null],
  ['1.2.3.256', null],
  [' 1.2.3.4', null],
  ['2001:db8::1::1', null],
];

const BUDGET: Array<[string, string]> = [
  ['198.51.100.9', '198.51.100.9'],
  ['::ffff:198.51.100.9', '198.51.100.9'],
  ['2001:db8::1', '2001:db8::/64'],
  ['2001:db8::ffff:ffff:ffff:ffff', '2001:db8::/64'],
  ['2001:0db8:0000:0000:1234:5678:9abc:def0', '2001:db8::/64'],
  ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
  ['2001:db8:0:1::1', '2001:db8:0:1::/64'],
  ['::1', '::/64'],
];

describe('client addresses', () => {
  for (const [text, expected] of CANONICAL) {
    it(`canonicalIp(${JSON.stringify(text)}) is ${JSON.stringify(expected)}`, () => {
      assert.equal(canonicalIp(text), expected);
      // Asked again (from the cache), the same answer.
      assert.equal(canonicalIp(text), expected);
    });
  }
  for (const [text, expected] of BUDGET) {
    it(`budgetAddress(${text}) is ${expected}`, () => assert.equal(budgetAddress(text), expected));
  }
  it('counts the five spellings of issue #10.6 as two budgets: one IPv6 /64 and one IPv4 address', () => {
    const spellings = ['2001:db8::1', '2001:0db8::1', '2001:db8:0:0:0:0:0:1'].map((ip) => budgetAddress(canonicalIp(ip) ?? ''));
    assert.deepEqual(new Set(spellings), new Set(['2001:db8::/64']));
    assert.equal(budgetAddress(canonicalIp('::ffff:198.51.100.9') ?? ''), budgetAddress(canonicalIp('198.51.100.9') ?? ''));
  });
});
