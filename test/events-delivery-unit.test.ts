import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nonPublicAddressReason } from '../src/api/webhook-url.js';
import { afterFailure, RETRY_MAX_DELAY_MS, RETRY_WINDOW_MS, retryDelayMs } from '../src/events/delivery-schedule.js';

/** The pure parts of delivery: which addresses a webhook may reach, and when a failed one is tried again. */

describe('webhook address classifier', () => {
  const REFUSED: Array<[string, RegExp]> = [
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['10.0.0.1', /private/],
    ['172.16.0.1', /private/],
    ['172.31.255.255', /private/],
    ['192.168.0.1', /private/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['100.127.255.255', /carrier-grade NAT/],
    ['169.254.169.254', /link-local \(includes the cloud metadata address\)/],
    ['169.254.0.1', /link-local/],
    ['0.0.0.0', /unspecified/],
    ['224.0.0.1', /multicast/],
    ['255.255.255.255', /broadcast/],
    ['240.0.0.1', /reserved/],
    ['192.0.2.1', /reserved/],
    ['::1', /loopback/],
    ['::', /unspecified/],
    ['fe80::1', /link-local/],
    ['fd00:ec2::254', /private network address \(unique local\)/],
    ['fc00::1', /unique local/],
    ['ff02::1', /multicast/],
    ['::ffff:127.0.0.1', /IPv4-mapped/],
    ['::ffff:8.8.8.8', /IPv4-mapped/],
    ['::ffff:169.254.169.254', /IPv4-mapped/],
    ['::127.0.0.1', /IPv4-(mapped|compatible)/],
    ['::7f00:1', /IPv4-compatible/],
    ['64:ff9b::a9fe:a9fe', /NAT64/],
    ['2002:7f00:1::', /6to4/],
    ['2001::1', /Teredo/],
    ['2001:db8::1', /reserved/],
    ['not-an-address', /not an IP address/],
  ];
  for (const [address, reason] of REFUSED) {
    it(`refuses ${address}`, () => assert.match(nonPublicAddressReason(address) ?? 'public', reason));
  }
  for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '169.253.255.255', '2606:4700::1111', '2a00:1450:4001::200e']) {
    it(`accepts ${address}`, () => assert.equal(nonPublicAddressReason(address), null));
  }
});

describe('webhook retry schedule', () => {
  const middle = () => 0.5;
  it('doubles from 30 s to at most 6 h, without jitter at the middle', () => {
    assert.deepEqual([1, 2, 3, 4, 10, 11, 12, 50].map((n) => retryDelayMs(n, middle)), [30_000, 60_000, 120_000, 240_000, 15_360_000, RETRY_MAX_DELAY_MS, RETRY_MAX_DELAY_MS, RETRY_MAX_DELAY_MS]);
  });
  it('moves each delay by at most 20 % either way', () => {
    assert.equal(retryDelayMs(1, () => 0), 24_000);
    assert.equal(retryDelayMs(1, () => 0.999999), 36_000);
    assert.equal(retryDelayMs(12, () => 0), RETRY_MAX_DELAY_MS * 0.8);
  });
  it('schedules the next try, never after the 3-day mark, and fails once it has passed', () => {
    const createdAt = new Date('2026-01-01T00:00:00Z');
    const at = (ms: number) => new Date(createdAt.getTime() + ms);
    assert.deepEqual(afterFailure({ createdAt, attempts: 1 }, at(0), 1, middle), { status: 'pending', nextAttemptAt: at(30_000) });
    assert.deepEqual(afterFailure({ createdAt, attempts: 20 }, at(RETRY_WINDOW_MS - 60_000), 1, middle), { status: 'pending', nextAttemptAt: at(RETRY_WINDOW_MS) });
    assert.deepEqual(afterFailure({ createdAt, attempts: 21 }, at(RETRY_WINDOW_MS), 1, middle), { status: 'failed' });
    assert.deepEqual(afterFailure({ createdAt, attempts: 1 }, at(0), 0.001, middle), { status: 'pending', nextAttemptAt: at(30) });
  });
  it('takes about 20 tries over the 3 days', () => {
    const createdAt = new Date(0);
    let now = createdAt;
    let attempts = 1;
    for (;;) {
      const next = afterFailure({ createdAt, attempts }, now, 1, middle);
      if (next.status === 'failed') break;
      now = next.nextAttemptAt;
      attempts++;
    }
    assert.ok(attempts >= 18 && attempts <= 24, `${attempts} tries`);
  });
});
