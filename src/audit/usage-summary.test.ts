import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HourTotals, IpDay } from './anomalies.js';
import { perDay, perHour, scopeSummary, sourceIps, topRoutes, type RouteTotal } from './usage-summary.js';

const at = (iso: string) => new Date(iso);
const row = (hour: string, status: number, requests: number): HourTotals => ({
  key_id: 'key_a',
  hour: at(hour),
  requests,
  '2xx': status < 300 ? requests : 0,
  '3xx': status >= 300 && status < 400 ? requests : 0,
  '4xx': status >= 400 && status < 500 ? requests : 0,
  '5xx': status >= 500 ? requests : 0,
  refused: 0,
});

describe('usage per day and per hour', () => {
  // Two rows for one hour are summed as two keys' would be (the repository sends one row per key and hour).
  const rows = [row('2026-03-08T01:00:00Z', 200, 5), row('2026-03-08T23:00:00Z', 404, 2), row('2026-03-10T01:00:00Z', 503, 1), row('2026-03-10T01:00:00Z', 304, 3)];

  it('lists every day of the period, zeros included, by status class', () => {
    assert.deepEqual(perDay(rows, '2026-03-08', 3), [
      { day: '2026-03-08', '2xx': 5, '3xx': 0, '4xx': 2, '5xx': 0, total: 7 },
      { day: '2026-03-09', '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, total: 0 },
      { day: '2026-03-10', '2xx': 0, '3xx': 3, '4xx': 0, '5xx': 1, total: 4 },
    ]);
  });

  it('lists the last 48 hours, ending with the current one', () => {
    const hours = perHour(rows, at('2026-03-10T01:59:59Z'));
    assert.equal(hours.length, 48);
    assert.equal(hours[0]?.hour, '2026-03-08T02:00:00.000Z');
    assert.deepEqual(hours.at(-1), { hour: '2026-03-10T01:00:00.000Z', '2xx': 0, '3xx': 3, '4xx': 0, '5xx': 1, total: 4 });
    assert.equal(hours.find((h) => h.hour === '2026-03-08T23:00:00.000Z')?.['4xx'], 2);
    assert.equal(hours.reduce((n, h) => n + h.total, 0), 6, 'the 01:00 hour of the 8th is older than 48 hours');
  });
});

describe('routes and scopes', () => {
  const routes: RouteTotal[] = [
    { route: '/api/v1/tickets', scope_used: 'tickets:read', failed: false, requests: 90 },
    { route: '/api/v1/tickets', scope_used: '', failed: true, requests: 10 },
    { route: '/api/v1/ping', scope_used: '', failed: false, requests: 5 },
  ];

  it('ranks routes by requests with their error share', () => {
    assert.deepEqual(topRoutes(routes), [
      { route: '/api/v1/tickets', requests: 100, errors: 10, error_share: 0.1 },
      { route: '/api/v1/ping', requests: 5, errors: 0, error_share: 0 },
    ]);
  });

  const cases: Array<[string, string[], number, string | null]> = [
    ['one unused scope', ['tickets:read', 'tickets:write'], 30, 'granted but unused in 30 days: tickets:write — consider removing it'],
    ['several', ['tickets:read', 'tickets:write', 'contacts:read'], 7, 'granted but unused in 7 days: tickets:write, contacts:read — consider removing them'],
    ['one day', ['tickets:write'], 1, 'granted but unused in 1 day: tickets:write — consider removing it'],
    ['all used', ['tickets:read'], 30, null],
  ];
  for (const [name, granted, days, hint] of cases) {
    it(`hints at least privilege: ${name}`, () => {
      const summary = scopeSummary(granted, routes, days);
      assert.equal(summary.hint, hint);
      assert.deepEqual(summary.used, [{ scope: 'tickets:read', requests: 90 }]);
      assert.deepEqual(summary.unused, granted.filter((s) => s !== 'tickets:read'));
    });
  }
});

describe('scopes used by verify calls', () => {
  it('counts each scope of a call that needed several', () => {
    const rows: RouteTotal[] = [
      { route: '/v1/keys/verify', scope_used: 'contacts:read contacts:write', failed: false, requests: 4 },
      { route: '/v1/keys/verify', scope_used: 'contacts:read', failed: false, requests: 1 },
    ];
    const summary = scopeSummary(['contacts:read', 'contacts:write', 'tickets:read'], rows, 30);
    assert.deepEqual(summary.used, [{ scope: 'contacts:read', requests: 5 }, { scope: 'contacts:write', requests: 4 }]);
    assert.deepEqual(summary.unused, ['tickets:read']);
  });
});

describe('source IPs', () => {
  const ip = (source_ip: string, day: string, requests: number): IpDay => ({
    key_id: 'key_a',
    day,
    source_ip,
    first_seen: at(`${day}T08:00:00Z`),
    last_seen: at(`${day}T18:00:00Z`),
    requests,
  });

  it('sums the period per IP and marks IPs unused in the 30 days before their first appearance', () => {
    const rows = [
      ip('203.0.113.1', '2026-02-20', 5), // before the period: makes .1 familiar
      ip('203.0.113.1', '2026-03-05', 10),
      ip('203.0.113.1', '2026-03-06', 10),
      ip('203.0.113.2', '2026-01-20', 5), // more than 30 days before its appearance: .2 is new again
      ip('203.0.113.2', '2026-03-06', 3),
      ip('203.0.113.3', '2026-03-06', 1),
    ];
    assert.deepEqual(sourceIps(rows, '2026-03-01'), {
      count: 3,
      ips: [
        { ip: '203.0.113.1', first_seen: '2026-03-05T08:00:00.000Z', last_seen: '2026-03-06T18:00:00.000Z', requests: 20, new: false },
        { ip: '203.0.113.2', first_seen: '2026-03-06T08:00:00.000Z', last_seen: '2026-03-06T18:00:00.000Z', requests: 3, new: true },
        { ip: '203.0.113.3', first_seen: '2026-03-06T08:00:00.000Z', last_seen: '2026-03-06T18:00:00.000Z', requests: 1, new: true },
      ],
    });
  });
});
