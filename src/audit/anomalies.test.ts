import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BURST_MIN_CLIENT_ERRORS,
  REFUSED_MAX_HOURS_SCANNED,
  SPIKE_MIN_REQUESTS,
  anomalyFingerprint,
  burstHours,
  detectAnomalies,
  ipDaysFrom,
  isFirstInLookback,
  refusalScans,
  scanPrefilter,
  sourceNetwork,
  spikeThreshold,
  type RefusalScan,
  type Anomaly,
  type ErrorCodeCount,
  type HourTotals,
  type IpDay,
  type KeyInfo,
  type TimeWindow,
} from './anomalies.js';
import { DAY_MS, HOUR_MS, dayOf, floorHour } from './hours.js';

const NOW = new Date('2026-03-10T12:30:00Z');
const LAST_DAY: TimeWindow = { from: new Date(NOW.getTime() - DAY_MS), to: NOW };
const THIS_HOUR = floorHour(NOW).getTime();
const KEY: KeyInfo = { id: 'key_a', name: 'crm-sync', created_at: new Date(NOW.getTime() - 90 * DAY_MS) };
const IPS = ['203.0.113.10', '203.0.113.11'];

/** A rollup row as the rules' input is built from it: one key, hour, status and error code (routes and scopes summed). */
type HourlyCount = ErrorCodeCount;

/** What usage-repo's hourTotals computes in SQL from such rows. */
function totalsOf(rows: readonly HourlyCount[]): HourTotals[] {
  const totals = new Map<string, HourTotals>();
  for (const row of rows) {
    const id = `${row.key_id} ${row.hour.getTime()}`;
    const entry = totals.get(id) ?? { key_id: row.key_id, hour: row.hour, requests: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, refused: 0 };
    const statusClass = `${Math.floor(row.status / 100)}xx`;
    if (statusClass === '2xx' || statusClass === '3xx' || statusClass === '4xx' || statusClass === '5xx') entry[statusClass] += row.requests;
    if (row.error_code === 'ip_not_allowed') entry.refused += row.requests;
    entry.requests += row.requests;
    totals.set(id, entry);
  }
  return [...totals.values()];
}

/** A small deterministic PRNG (mulberry32): the same "random" traffic on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Traffic {
  hourly: HourlyCount[];
  ipDays: IpDay[];
}

/**
 * 40 days of a key's traffic up to NOW: `perHour(hour, rand)` requests each hour, about 2% of them 404s
 * (at least one now and then on a quiet key), from the same two IPs.
 */
function traffic(perHour: (hour: Date, rand: () => number) => number, seed = 1, keyId = KEY.id): Traffic {
  const rand = random(seed);
  const hourly: HourlyCount[] = [];
  const days = new Map<string, IpDay[]>();
  for (let ms = THIS_HOUR - 40 * DAY_MS; ms <= THIS_HOUR; ms += HOUR_MS) {
    const hour = new Date(ms);
    const requests = Math.max(0, Math.round(perHour(hour, rand)));
    if (requests === 0) continue;
    const errors = Math.min(requests, Math.round(requests * 0.02 * rand() * 2) + (rand() < 0.05 ? 1 : 0));
    if (requests > errors) hourly.push({ key_id: keyId, hour, status: 200, error_code: '', requests: requests - errors });
    if (errors > 0) hourly.push({ key_id: keyId, hour, status: 404, error_code: 'not_found', requests: errors });
    const main = Math.ceil(requests * 0.7);
    const day = dayOf(hour);
    const rows = days.get(day) ?? IPS.map((ip) => ({ key_id: keyId, day, source_ip: ip, first_seen: hour, last_seen: hour, requests: 0 }));
    days.set(day, rows);
    rows.forEach((row, i) => {
      const share = i === 0 ? main : requests - main;
      if (share === 0) return;
      if (row.requests === 0) row.first_seen = new Date(ms + 60_000);
      row.last_seen = new Date(ms + 59 * 60_000);
      row.requests += share;
    });
  }
  return { hourly, ipDays: [...days.values()].flat().filter((r) => r.requests > 0) };
}

function scan(data: Partial<Traffic> & { refusedIps?: IpDay[] }, options: { keys?: KeyInfo[]; window?: TimeWindow } = {}): Anomaly[] {
  const hours = totalsOf(data.hourly ?? []);
  const window = options.window ?? LAST_DAY;
  return detectAnomalies({
    window,
    keys: options.keys ?? [KEY],
    hours,
    burstCodes: (data.hourly ?? []).filter((r) => r.status >= 400 && r.status < 500),
    ipDays: data.ipDays ?? [],
    refusedIps: data.refusedIps ?? [],
    scans: refusalScans(hours, window),
  });
}

const hourOfDay = (hour: Date) => hour.getUTCHours();
const weekday = (hour: Date) => hour.getUTCDay() >= 1 && hour.getUTCDay() <= 5;

const ORDINARY: Array<[string, (hour: Date, rand: () => number) => number]> = [
  ['a quiet key (about 5 an hour)', (_h, rand) => 3 + rand() * 4],
  ['steady traffic, ±10%', (_h, rand) => 2000 * (0.9 + rand() * 0.2)],
  ['business hours on weekdays, quiet otherwise', (h, rand) => (weekday(h) && hourOfDay(h) >= 9 && hourOfDay(h) < 18 ? 1000 : 15) * (0.85 + rand() * 0.3)],
  ['a smooth day-and-night curve', (h, rand) => 400 * (1.2 + Math.sin((hourOfDay(h) / 24) * 2 * Math.PI)) * (0.9 + rand() * 0.2)],
  ['a nightly batch job of 3,000 calls at 02:00', (h, rand) => (hourOfDay(h) === 2 ? 3000 : 30) * (0.9 + rand() * 0.2)],
  ['traffic growing 3% a day', (h, rand) => 100 * 1.03 ** ((h.getTime() - THIS_HOUR) / DAY_MS + 40) * (0.9 + rand() * 0.2)],
  ['calls on some days only', (h, rand) => (h.getUTCDate() % 3 === 0 ? 50 : 0) * (0.5 + rand())],
];

describe('ordinary traffic flags nothing', () => {
  for (const [name, perHour] of ORDINARY) {
    for (const seed of [1, 2, 3]) {
      it(`${name} (seed ${seed}), over the last day and the last 30 days`, () => {
        const data = traffic(perHour, seed);
        assert.deepEqual(scan(data), []);
        assert.deepEqual(scan(data, { window: { from: new Date(NOW.getTime() - 30 * DAY_MS), to: NOW } }), []);
      });
    }
  }
});

const steady = (level: number) => (_h: Date, rand: () => number) => level * (0.9 + rand() * 0.2);

/** Adds rows to a copy of the traffic. */
function plus(data: Traffic, extra: { hourly?: HourlyCount[]; ipDays?: IpDay[] }): Traffic {
  return { hourly: [...data.hourly, ...(extra.hourly ?? [])], ipDays: [...data.ipDays, ...(extra.ipDays ?? [])] };
}

function hoursAgo(hours: number): Date {
  return new Date(THIS_HOUR - hours * HOUR_MS);
}

function row(hour: Date, requests: number, status = 200, errorCode = ''): HourlyCount {
  return { key_id: KEY.id, hour, status, error_code: errorCode, requests };
}

function ipDay(ip: string, at: Date, requests: number): IpDay {
  return { key_id: KEY.id, day: dayOf(at), source_ip: ip, first_seen: at, last_seen: new Date(at.getTime() + 60_000), requests };
}

describe('volume_spike', () => {
  const cases: Array<{ name: string; data: Traffic; keys?: KeyInfo[]; flagged: boolean; severity?: string }> = [
    { name: 'ten times a steady key\'s hour', data: plus(traffic(steady(200)), { hourly: [row(hoursAgo(3), 1800)] }), flagged: true, severity: 'high' },
    { name: 'a quiet key jumping to 150', data: plus(traffic(steady(5)), { hourly: [row(hoursAgo(1), 150)] }), flagged: true, severity: 'medium' },
    { name: 'a quiet key jumping to 90 (under the 100 floor)', data: plus(traffic(steady(5)), { hourly: [row(hoursAgo(1), 85)] }), flagged: false },
    {
      name: 'the nightly batch job at twice its size',
      data: (() => {
        const data = traffic((h) => (hourOfDay(h) === 2 ? 3000 : 30));
        return { ...data, hourly: data.hourly.map((r) => (r.hour.getTime() === Date.parse('2026-03-10T02:00:00Z') && r.status === 200 ? { ...r, requests: 6000 } : r)) };
      })(),
      flagged: true,
    },
    {
      name: 'a dormant key waking up with 500 calls',
      data: { hourly: [row(new Date(THIS_HOUR - 20 * DAY_MS), 40), row(hoursAgo(2), 500)], ipDays: [] },
      flagged: true,
    },
    {
      name: 'a key created 10 hours ago (no baseline yet)',
      data: { hourly: [row(hoursAgo(9), 5), row(hoursAgo(2), 2000)], ipDays: [] },
      keys: [{ ...KEY, created_at: hoursAgo(10) }],
      flagged: false,
    },
  ];
  for (const c of cases) {
    it(`${c.flagged ? 'flags' : 'does not flag'} ${c.name}`, () => {
      const found = scan(c.data, c.keys ? { keys: c.keys } : {}).filter((a) => a.type === 'volume_spike');
      assert.equal(found.length, c.flagged ? 1 : 0, JSON.stringify(found));
      if (c.severity) assert.equal(found[0]?.severity, c.severity);
    });
  }

  it('fires at the threshold and not one below, with the baseline as evidence', () => {
    // A flat baseline of 30 an hour: mean 30, stddev 0, peak 30 → the 100 floor decides.
    const flat: HourlyCount[] = Array.from({ length: 24 * 8 }, (_, i) => row(hoursAgo(i + 1), 30));
    const threshold = spikeThreshold({ hours: 168, mean: 30, stddev: 0, peak: 30 });
    assert.equal(threshold, SPIKE_MIN_REQUESTS);
    assert.deepEqual(scan({ hourly: [...flat, row(hoursAgo(0), threshold - 1)] }), []);
    const [spike] = scan({ hourly: [...flat, row(hoursAgo(0), threshold)] });
    assert.equal(spike?.type, 'volume_spike');
    assert.deepEqual(spike?.window, { from: hoursAgo(0).toISOString(), to: hoursAgo(-1).toISOString() });
    assert.deepEqual(spike?.evidence, { hour: hoursAgo(0).toISOString(), requests: 100, threshold: 100, baseline: { hours: 168, mean: 30, stddev: 0, peak: 30 } });
    assert.match(spike?.summary ?? '', /^"crm-sync" made 100 requests in the hour from \d\d:00 UTC on 2026-03-1\d, against 30 ± 0 an hour over the previous 7 days\.$/);
  });

  it('takes the largest of mean + 4σ, 3× mean and 1.5× peak', () => {
    assert.equal(spikeThreshold({ hours: 168, mean: 100, stddev: 80, peak: 300 }), 450);
    assert.equal(spikeThreshold({ hours: 168, mean: 100, stddev: 10, peak: 130 }), 300);
    assert.equal(spikeThreshold({ hours: 168, mean: 100, stddev: 20, peak: 500 }), 750);
  });
});

describe('new_source_ip', () => {
  const base = traffic(steady(50));
  const cases: Array<{ name: string; data: Traffic; keys?: KeyInfo[]; flagged: string[] }> = [
    { name: 'an IP never seen before, today', data: plus(base, { ipDays: [ipDay('198.51.100.7', hoursAgo(2), 12)] }), flagged: ['198.51.100.7'] },
    {
      name: 'an IP last used 35 days ago',
      data: plus(base, { ipDays: [ipDay('198.51.100.7', new Date(THIS_HOUR - 35 * DAY_MS), 3), ipDay('198.51.100.7', hoursAgo(2), 12)] }),
      flagged: ['198.51.100.7'],
    },
    {
      name: 'an IP last used 20 days ago',
      data: plus(base, { ipDays: [ipDay('198.51.100.7', new Date(THIS_HOUR - 20 * DAY_MS), 3), ipDay('198.51.100.7', hoursAgo(2), 12)] }),
      flagged: [],
    },
    { name: 'a brand-new key\'s first IPs', data: { hourly: [], ipDays: [ipDay('198.51.100.7', hoursAgo(3), 5), ipDay('2001:db8:1::7', hoursAgo(1), 5)] }, flagged: [] },
    {
      name: 'a brand-new key\'s IPs of its first 24 hours, across midnight',
      data: { hourly: [], ipDays: [ipDay('198.51.100.7', new Date('2026-03-09T13:00:00Z'), 5), ipDay('192.0.2.8', new Date('2026-03-10T12:59:00Z'), 5)] },
      flagged: [],
    },
    {
      name: 'a young key called from another network after its first day',
      data: { hourly: [], ipDays: [ipDay('198.51.100.7', new Date('2026-03-09T11:00:00Z'), 5), ipDay('192.0.2.8', new Date('2026-03-10T11:00:00Z'), 5)] },
      flagged: ['192.0.2.8'],
    },
    { name: 'a new IP in the usual /24', data: plus(base, { ipDays: [ipDay('203.0.113.99', hoursAgo(2), 12)] }), flagged: [] },
    {
      name: 'a new IPv6 address in the usual /48, and one outside it',
      data: plus(base, {
        ipDays: [ipDay('2001:db8:1:5::1', new Date(THIS_HOUR - 3 * DAY_MS), 3), ipDay('2001:db8:1:ff::2', hoursAgo(3), 2), ipDay('2001:db8:2::1', hoursAgo(2), 2)],
      }),
      flagged: ['2001:db8:2::1'],
    },
    {
      name: 'an IP first used before the window',
      data: plus(base, { ipDays: [ipDay('198.51.100.7', new Date(NOW.getTime() - 26 * HOUR_MS), 12), ipDay('198.51.100.7', hoursAgo(2), 4)] }),
      flagged: [],
    },
  ];
  for (const c of cases) {
    it(`${c.flagged.length > 0 ? 'flags' : 'does not flag'} ${c.name}`, () => {
      const found = scan(c.data).filter((a) => a.type === 'new_source_ip');
      assert.deepEqual(found.map((a) => (a.type === 'new_source_ip' ? a.evidence.ip : '')), c.flagged);
    });
  }

  it('says where, when and how much', () => {
    const [found] = scan(plus(base, { ipDays: [ipDay('198.51.100.7', hoursAgo(2), 12)] }));
    assert.deepEqual(found?.evidence, {
      ip: '198.51.100.7',
      network: '198.51.100.0/24',
      ip_count: 1,
      first_seen: hoursAgo(2).toISOString(),
      last_seen: new Date(hoursAgo(2).getTime() + 60_000).toISOString(),
      requests: 12,
      lookback_days: 30,
    });
    assert.equal(found?.severity, 'medium');
    assert.match(found?.summary ?? '', /^"crm-sync" was called from 198\.51\.100\.7, in 198\.51\.100\.0\/24, a network it had not used in the previous 30 days: 12 requests from 2026-03-1\d \d\d:00 UTC\.$/);
  });

  it('counts one new network once, with its IPs, and names the first to call', () => {
    const found = scan(plus(base, { ipDays: [ipDay('198.51.100.9', hoursAgo(1), 2), ipDay('198.51.100.7', hoursAgo(2), 12)] })).filter((a) => a.type === 'new_source_ip');
    assert.equal(found.length, 1);
    assert.deepEqual([found[0]?.evidence, found[0]?.window.to], [
      {
        ip: '198.51.100.7',
        network: '198.51.100.0/24',
        ip_count: 2,
        first_seen: hoursAgo(2).toISOString(),
        last_seen: new Date(hoursAgo(1).getTime() + 60_000).toISOString(),
        requests: 14,
        lookback_days: 30,
      },
      new Date(hoursAgo(1).getTime() + 60_000).toISOString(),
    ]);
    assert.match(found[0]?.summary ?? '', /^"crm-sync" was called from 198\.51\.100\.7 and 1 other IP of it, in 198\.51\.100\.0\/24, /);
  });

  it('judges networks: IPv4 /24, IPv6 /48, an IPv4-mapped address as IPv4, anything else as itself', () => {
    assert.equal(sourceNetwork('198.51.100.7'), '198.51.100.0/24');
    assert.equal(sourceNetwork('2001:db8:abcd:12::1'), '2001:db8:abcd::/48');
    assert.equal(sourceNetwork('::ffff:198.51.100.7'), '198.51.100.0/24');
    assert.equal(sourceNetwork('unknown'), 'unknown');
  });

  it('gives a finding one fingerprint however its counts grow', () => {
    const once = scan(plus(base, { ipDays: [ipDay('198.51.100.7', hoursAgo(2), 12)], hourly: [row(hoursAgo(3), 60, 404, 'not_found'), row(hoursAgo(1), 2, 403, 'ip_not_allowed')] }));
    const later = scan(plus(base, { ipDays: [ipDay('198.51.100.7', hoursAgo(2), 40), ipDay('198.51.100.8', hoursAgo(1), 3)], hourly: [row(hoursAgo(3), 90, 404, 'not_found'), row(hoursAgo(1), 9, 403, 'ip_not_allowed')] }));
    assert.deepEqual(once.map(anomalyFingerprint), [
      `ip_refused key_a ${dayOf(hoursAgo(1))}`,
      `new_source_ip key_a 198.51.100.0/24 ${dayOf(hoursAgo(2))}`,
      `error_burst key_a ${hoursAgo(3).toISOString()}`,
    ]);
    assert.deepEqual(later.map(anomalyFingerprint), once.map(anomalyFingerprint));
  });
});

describe('error_burst', () => {
  const base = traffic(steady(10));
  const cases: Array<{ name: string; extra: HourlyCount[]; flagged: boolean; severity?: string }> = [
    { name: '25 not_found in an hour of 35', extra: [row(hoursAgo(2), 25, 404, 'not_found')], flagged: true, severity: 'medium' },
    { name: `${BURST_MIN_CLIENT_ERRORS - 1} errors (under the count)`, extra: [row(hoursAgo(2), BURST_MIN_CLIENT_ERRORS - 1, 403, 'insufficient_scope')], flagged: false },
    { name: '30 errors in an hour of 1,000 (3%)', extra: [row(hoursAgo(2), 960), row(hoursAgo(2), 30, 404, 'not_found')], flagged: false },
    { name: '300 revoked-key 401s', extra: [row(hoursAgo(2), 300, 401, 'api_key_revoked')], flagged: true, severity: 'high' },
    { name: '60 refusals by the IP allowlist (ip_refused says it)', extra: [row(hoursAgo(2), 60, 403, 'ip_not_allowed')], flagged: false },
    { name: '5xx errors (not the client\'s)', extra: [row(hoursAgo(2), 60, 500, 'internal_error')], flagged: false },
  ];
  for (const c of cases) {
    it(`${c.flagged ? 'flags' : 'does not flag'} ${c.name}`, () => {
      const found = scan(plus(base, { hourly: c.extra })).filter((a) => a.type === 'error_burst');
      assert.equal(found.length, c.flagged ? 1 : 0, JSON.stringify(found));
      if (c.severity) assert.equal(found[0]?.severity, c.severity);
    });
  }

  it('names the top error codes', () => {
    const hour = hoursAgo(4);
    const [found] = scan({ hourly: [row(hour, 10), row(hour, 20, 404, 'not_found'), row(hour, 6, 403, 'insufficient_scope'), row(hour, 4, 400, 'invalid_request')] });
    assert.equal(found?.type, 'error_burst');
    assert.deepEqual(found?.evidence, {
      hour: hour.toISOString(),
      client_errors: 30,
      requests: 40,
      share: 0.75,
      top_error_codes: [
        { error_code: 'not_found', status: 404, requests: 20 },
        { error_code: 'insufficient_scope', status: 403, requests: 6 },
        { error_code: 'invalid_request', status: 400, requests: 4 },
      ],
    });
    assert.match(found?.summary ?? '', /got 30 client errors \(4xx\) out of 40 requests in the hour from .*, mostly not_found\.$/);
  });
});

describe('ip_refused', () => {
  const refusedAt = (hour: Date, requests: number) => row(hour, requests, 403, 'ip_not_allowed');

  it('flags any refused call, with counts per hour and the IPs', () => {
    const day = dayOf(hoursAgo(1));
    const data = plus(traffic(steady(50)), { hourly: [refusedAt(hoursAgo(1), 1)] });
    const refusedIps = [{ key_id: KEY.id, day, source_ip: '198.51.100.23', first_seen: hoursAgo(1), last_seen: hoursAgo(1), requests: 1 }];
    const [found] = scan({ ...data, refusedIps });
    assert.equal(found?.type, 'ip_refused');
    assert.equal(found?.severity, 'high');
    assert.deepEqual(found?.evidence, {
      refused: 1,
      per_hour: [{ hour: hoursAgo(1).toISOString(), requests: 1 }],
      ips: [{ ip: '198.51.100.23', requests: 1, first_seen: hoursAgo(1).toISOString(), last_seen: hoursAgo(1).toISOString() }],
      ip_count: 1,
      ips_complete: true,
    });
    assert.match(found?.summary ?? '', /^"crm-sync" had 1 call refused on 2026-03-\d\d because the source IP is outside its allowlist, from 198\.51\.100\.23\.$/);
  });

  it('reads IPs for the most recent refused hours only, adjacent hours as one range, and says when IPs are incomplete', () => {
    const window = { from: new Date(NOW.getTime() - 10 * DAY_MS), to: NOW };
    const hours = Array.from({ length: REFUSED_MAX_HOURS_SCANNED + 10 }, (_, i) => hoursAgo(i * 2));
    const hourly = hours.map((h) => refusedAt(h, 2));
    const scans = refusalScans(totalsOf(hourly), window);
    assert.equal(scans.length, REFUSED_MAX_HOURS_SCANNED);
    assert.ok(scans.every((s) => s.to.getTime() - s.from.getTime() === HOUR_MS));
    assert.deepEqual(refusalScans(totalsOf([refusedAt(hoursAgo(3), 1), refusedAt(hoursAgo(2), 1), refusedAt(hoursAgo(1), 1)]), window), [
      { key_id: KEY.id, from: hoursAgo(3), to: hoursAgo(0) },
    ]);
    const found = scan({ hourly }, { window });
    assert.ok(found.every((a) => a.type === 'ip_refused'));
    const complete = found.map((a) => (a.type === 'ip_refused' ? a.evidence.ips_complete : null));
    assert.equal(complete[0], true, 'the newest day was read');
    assert.equal(complete.at(-1), false, 'the oldest day was beyond the hours read');
  });
});

describe('a scan', () => {
  it('sorts newest first and names each key', () => {
    const other: KeyInfo = { id: 'key_b', name: 'warehouse', created_at: KEY.created_at };
    const data = plus(traffic(steady(50)), {
      hourly: [row(hoursAgo(6), 60, 404, 'not_found'), { ...row(hoursAgo(1), 1, 403, 'ip_not_allowed'), key_id: other.id }],
      ipDays: [ipDay('198.51.100.7', hoursAgo(3), 12)],
    });
    const found = scan(data, { keys: [KEY, other] });
    assert.deepEqual(
      found.map((a) => [a.type, a.key.name]),
      [
        ['ip_refused', 'warehouse'],
        ['new_source_ip', 'crm-sync'],
        ['error_burst', 'crm-sync'],
      ],
    );
  });

  it('skips rows of keys it was not given', () => {
    assert.deepEqual(scan({ hourly: [row(hoursAgo(1), 50, 403, 'ip_not_allowed')] }, { keys: [] }), []);
  });
});

// Boundaries and shapes that the mutation run (npm run mutation, docs/quality.md) showed no test above decided.
describe('rule boundaries', () => {
  const totals = (keyId: string, hour: Date, fields: Partial<HourTotals>): HourTotals => ({ key_id: keyId, hour, requests: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, refused: 0, ...fields });
  const direct = (hours: HourTotals[], options: { keys?: KeyInfo[]; scans?: RefusalScan[]; refusedIps?: IpDay[]; burstCodes?: ErrorCodeCount[] } = {}) =>
    detectAnomalies({ window: LAST_DAY, keys: options.keys ?? [KEY], hours, burstCodes: options.burstCodes ?? [], ipDays: [], refusedIps: options.refusedIps ?? [], scans: options.scans ?? [] });
  const flat = (level: number, hours = 24 * 9) => Array.from({ length: hours }, (_, i) => row(hoursAgo(i + 1), level));
  const spikes = (found: Anomaly[]) => found.filter((a): a is Extract<Anomaly, { type: 'volume_spike' }> => a.type === 'volume_spike');
  const bursts = (found: Anomaly[]) => found.filter((a): a is Extract<Anomaly, { type: 'error_burst' }> => a.type === 'error_burst');
  const newIps = (found: Anomaly[]) => found.filter((a): a is Extract<Anomaly, { type: 'new_source_ip' }> => a.type === 'new_source_ip');
  const refusals = (found: Anomaly[]) => found.filter((a): a is Extract<Anomaly, { type: 'ip_refused' }> => a.type === 'ip_refused');

  it('names what the database may leave out and how far back the rules read', () => {
    assert.deepEqual(scanPrefilter(LAST_DAY), { windowStart: floorHour(LAST_DAY.from), minHourRequests: 100, minClientErrors: 20 });
    assert.equal(ipDaysFrom(LAST_DAY), '2026-02-07');
    assert.deepEqual(burstHours([], LAST_DAY), []);
  });

  it('takes mean + 4σ when it is the largest', () => assert.equal(spikeThreshold({ hours: 168, mean: 100, stddev: 100, peak: 100 }), 500));

  it('reports the baseline\'s deviation, and the key', () => {
    // Alternating 20 and 40: mean 30, standard deviation 10, peak 40 over any 168 hours.
    const hourly = Array.from({ length: 200 }, (_, i) => row(hoursAgo(i + 1), i % 2 === 0 ? 20 : 40));
    const [spike] = spikes(scan({ hourly: [...hourly, row(hoursAgo(0), 1000)] }));
    assert.deepEqual(spike?.key, { id: KEY.id, name: KEY.name });
    assert.deepEqual(spike?.evidence, { hour: hoursAgo(0).toISOString(), requests: 1000, threshold: 100, baseline: { hours: 168, mean: 30, stddev: 10, peak: 40 } });
    assert.equal(spike?.severity, 'high');
    assert.match(spike?.summary ?? '', /1,000 requests .* against 30 ± 10 an hour over the previous 7 days\.$/);
  });

  it('flags exactly 3× the mean, and high from exactly twice the threshold', () => {
    assert.equal(spikes(scan({ hourly: [...flat(50), row(hoursAgo(0), 150)] }))[0]?.evidence.threshold, 150);
    assert.equal(spikes(scan({ hourly: [...flat(30), row(hoursAgo(0), 200)] }))[0]?.severity, 'high');
    assert.equal(spikes(scan({ hourly: [...flat(30), row(hoursAgo(0), 199)] }))[0]?.severity, 'medium');
  });

  it('counts the oldest hour the rules read in the first hour\'s baseline', () => {
    // The window's first hour, 24 hours ago: its baseline starts at the first row the rules read.
    const [spike] = spikes(scan({ hourly: [...flat(30, 24 * 9), row(hoursAgo(24), 500)] }));
    assert.equal(spike?.evidence.hour, hoursAgo(24).toISOString());
    assert.deepEqual(spike?.evidence.baseline, { hours: 168, mean: 30, stddev: 0, peak: 30 });
  });

  it('adds up several rows of one hour', () => {
    const hours = [...totalsOf(flat(30)), totals(KEY.id, hoursAgo(0), { requests: 60, '2xx': 60 }), totals(KEY.id, hoursAgo(0), { requests: 60, '2xx': 60 })];
    assert.equal(spikes(direct(hours))[0]?.evidence.requests, 120);
  });

  it('judges a key from its first full day, over the hours since it was created', () => {
    const young = (hours: number) => ({ ...KEY, created_at: hoursAgo(hours) });
    const day = spikes(scan({ hourly: [...flat(30, 24), row(hoursAgo(0), 200)] }, { keys: [young(24)] }));
    assert.equal(day[0]?.evidence.baseline.hours, 24);
    assert.match(day[0]?.summary ?? '', /over the previous 1 day\.$/);
    const thirty = spikes(scan({ hourly: [...flat(30, 30), row(hoursAgo(0), 200)] }, { keys: [young(30)] }));
    assert.equal(thirty[0]?.evidence.baseline.hours, 30);
    assert.match(thirty[0]?.summary ?? '', /over the previous 30 hours\.$/);
    assert.deepEqual(spikes(scan({ hourly: [...flat(30, 23), row(hoursAgo(0), 200)] }, { keys: [young(23)] })), []);
  });

  it('keeps to the window\'s hours, at both ends', () => {
    const window = { from: hoursAgo(24), to: hoursAgo(0) };
    const edge = (hour: Date) => [row(hour, 60, 404, 'not_found'), row(hour, 3, 403, 'ip_not_allowed')];
    const hourly = [...flat(30, 24 * 9), row(hoursAgo(0), 500), ...edge(hoursAgo(0)), ...edge(hoursAgo(25)), row(hoursAgo(24), 60, 404, 'not_found')];
    const found = scan({ hourly }, { window });
    assert.deepEqual(found.map((a) => [a.type, a.window.from]), [['error_burst', hoursAgo(24).toISOString()]]);
    assert.deepEqual(refusalScans(totalsOf(hourly), window), []);
    assert.deepEqual(refusalScans(totalsOf([row(hoursAgo(2), 5)]), LAST_DAY), [], 'hours without refusals are not read');
  });

  it('does not count allowlist refusals as client errors or requests of a burst', () => {
    const hour = hoursAgo(2);
    const [burst] = bursts(scan({ hourly: [row(hour, 10), row(hour, 25, 404, 'not_found'), row(hour, 40, 403, 'ip_not_allowed')] }));
    assert.deepEqual(burst?.evidence, { hour: hour.toISOString(), client_errors: 25, requests: 35, share: 0.714, top_error_codes: [{ error_code: 'not_found', status: 404, requests: 25 }] });
  });

  it('flags a burst from exactly 20 errors and half the requests, and high from 100 errors and 90%', () => {
    const severity = (ok: number, errors: number) => bursts(scan({ hourly: [...(ok > 0 ? [row(hoursAgo(2), ok)] : []), row(hoursAgo(2), errors, 404, 'not_found')] }))[0]?.severity;
    assert.equal(severity(20, 20), 'medium');
    assert.equal(severity(0, 100), 'high');
    assert.equal(severity(20, 180), 'high');
    assert.equal(severity(150, 150), 'medium');
    assert.equal(severity(0, 99), 'medium');
    assert.equal(severity(21, 19), undefined);
  });

  it('shows the five most frequent error codes, ties by code, and no codes when none were read', () => {
    const hour = hoursAgo(2);
    const codes: Array<[number, string, number]> = [[429, 'rate_limited', 2], [409, 'conflict', 6], [404, 'not_found', 10], [405, '', 6], [403, 'insufficient_scope', 8], [401, 'api_key_revoked', 6], [400, 'invalid_request', 9]];
    const [burst] = bursts(scan({ hourly: codes.map(([status, code, n]) => row(hour, n, status, code)) }));
    assert.deepEqual(burst?.evidence.top_error_codes, [
      { error_code: 'not_found', status: 404, requests: 10 },
      { error_code: 'invalid_request', status: 400, requests: 9 },
      { error_code: 'insufficient_scope', status: 403, requests: 8 },
      { error_code: null, status: 405, requests: 6 },
      { error_code: 'api_key_revoked', status: 401, requests: 6 },
    ]);
    assert.match(bursts(scan({ hourly: [row(hour, 30, 404, '')] }))[0]?.summary ?? '', /, mostly 404\.$/);
    const [bare] = bursts(direct([totals(KEY.id, hour, { requests: 30, '4xx': 30 })]));
    assert.deepEqual(bare?.evidence.top_error_codes, []);
    assert.match(bare?.summary ?? '', /in the hour from \d\d:00 UTC on \d{4}-\d\d-\d\d\.$/);
  });

  it('skips every rule\'s findings for keys it was not given', () => {
    const data = plus(traffic(steady(50)), { hourly: [row(hoursAgo(2), 60, 404, 'not_found'), row(hoursAgo(1), 5000)], ipDays: [ipDay('198.51.100.7', hoursAgo(2), 12)] });
    assert.ok(scan(data).length >= 3);
    assert.deepEqual(scan(data, { keys: [] }), []);
  });

  it('finds new IPs in history rows of any order, at the lookback\'s exact edge, and at the window\'s', () => {
    const base = traffic(steady(50));
    const flagged = (rows: IpDay[], window: TimeWindow = LAST_DAY) => newIps(scan(plus(base, { ipDays: rows }), { window })).map((a) => a.evidence.ip);
    const x = '198.51.100.7';
    assert.deepEqual(flagged([ipDay(x, hoursAgo(2), 12), ipDay(x, new Date(THIS_HOUR - 20 * DAY_MS), 3)]), [], 'rows newest first');
    assert.deepEqual(flagged([ipDay(x, new Date(THIS_HOUR - 30 * DAY_MS), 3), ipDay(x, hoursAgo(2), 12)]), [], 'used exactly 30 days before');
    assert.deepEqual(flagged([ipDay(x, new Date('2026-03-09T13:00:00Z'), 4)]), [x], 'first seen on the window\'s first day');
    assert.deepEqual(flagged([ipDay(x, LAST_DAY.from, 4)]), [x], 'first seen at the window\'s start');
    assert.deepEqual(flagged([ipDay(x, hoursAgo(0), 4)], { from: hoursAgo(24), to: hoursAgo(0) }), [], 'first seen at the window\'s end');
    assert.equal(isFirstInLookback([ipDay(x, hoursAgo(2), 1)], 1), false, 'no such row');
  });

  it('judges a new IP only against the key\'s calls of the lookback', () => {
    const flagged = (ipDays: IpDay[]) => newIps(scan({ hourly: [], ipDays })).map((a) => a.evidence.ip);
    assert.deepEqual(flagged([ipDay('203.0.113.1', new Date(THIS_HOUR - 35 * DAY_MS), 5), ipDay('198.51.100.7', hoursAgo(2), 5)]), [], 'a dormant key');
    assert.deepEqual(flagged([ipDay('203.0.113.1', new Date(THIS_HOUR - 30 * DAY_MS), 5), ipDay('198.51.100.7', hoursAgo(2), 5)]), ['198.51.100.7']);
  });

  it('counts a new IP\'s calls until it next becomes new, and its last call in that stretch', () => {
    const window = { from: new Date(THIS_HOUR - 70 * DAY_MS), to: NOW };
    const daysAgo = (n: number) => new Date(THIS_HOUR - n * DAY_MS);
    const x = '198.51.100.7';
    const ipDays = [ipDay('203.0.113.1', daysAgo(66), 5), ipDay(x, daysAgo(65), 12), ipDay(x, daysAgo(64), 3), ipDay('203.0.113.1', daysAgo(11), 5), ipDay(x, daysAgo(10), 7)];
    const found = newIps(scan({ hourly: [], ipDays }, { window })).map((a) => [a.evidence.first_seen, a.evidence.requests, a.evidence.last_seen]);
    assert.deepEqual(found, [
      [daysAgo(10).toISOString(), 7, new Date(daysAgo(10).getTime() + 60_000).toISOString()],
      [daysAgo(65).toISOString(), 15, new Date(daysAgo(64).getTime() + 60_000).toISOString()],
    ]);
  });

  it('says whether the IPs of every refused hour were read, per hour in order', () => {
    const [h1, h2] = [hoursAgo(3), hoursAgo(2)];
    const hours = [totals(KEY.id, h2, { requests: 2, '4xx': 2, refused: 2 }), totals(KEY.id, h1, { requests: 1, '4xx': 1, refused: 1 })];
    const scanOf = (keyId: string, from: Date, to: Date) => ({ key_id: keyId, from, to });
    const complete = (scans: RefusalScan[]) => refusals(direct(hours, { scans }))[0]?.evidence.ips_complete;
    assert.equal(complete([scanOf(KEY.id, h1, hoursAgo(1))]), true);
    assert.equal(complete([scanOf(KEY.id, h2, hoursAgo(1))]), false, 'one of two hours read');
    assert.equal(complete([scanOf('key_b', h1, hoursAgo(1))]), false, 'another key\'s hours');
    assert.equal(complete([scanOf(KEY.id, hoursAgo(4), h1), scanOf(KEY.id, h2, hoursAgo(1))]), false, 'a range ending where the hour starts');
    assert.equal(complete([scanOf(KEY.id, h2, hoursAgo(0))]), false, 'a range starting after the hour');
    assert.deepEqual(refusals(direct(hours))[0]?.evidence.per_hour, [{ hour: h1.toISOString(), requests: 1 }, { hour: h2.toISOString(), requests: 2 }]);
    const three = [...hours, totals(KEY.id, hoursAgo(5), { requests: 1, '4xx': 1, refused: 1 })];
    assert.deepEqual(refusals(direct(three))[0]?.window, { from: hoursAgo(5).toISOString(), to: hoursAgo(1).toISOString() });
  });

  it('names one IP, counts several, and lists the ten busiest', () => {
    const hour = hoursAgo(2);
    const hours = [totals(KEY.id, hour, { requests: 30, '4xx': 30, refused: 30 })];
    const ipRow = (ip: string, requests: number): IpDay => ({ key_id: KEY.id, day: dayOf(hour), source_ip: ip, first_seen: hour, last_seen: hour, requests });
    const summary = (refusedIps: IpDay[]) => refusals(direct(hours, { refusedIps }))[0]?.summary ?? '';
    assert.match(summary([]), /outside its allowlist\.$/);
    assert.match(summary([ipRow('198.51.100.1', 30)]), /, from 198\.51\.100\.1\.$/);
    const elsewhere = [{ ...ipRow('198.51.100.2', 5), key_id: 'key_b' }, { ...ipRow('198.51.100.3', 5), day: '2026-03-01' }];
    assert.match(summary([ipRow('198.51.100.1', 30), ...elsewhere]), /, from 198\.51\.100\.1\.$/, 'another key\'s or day\'s IPs are not counted');
    assert.match(summary([ipRow('198.51.100.1', 20), ipRow('198.51.100.2', 10)]), /, from 2 IPs\.$/);
    const many = Array.from({ length: 11 }, (_, i) => ipRow(`198.51.100.${i + 1}`, i === 10 ? 5 : 2));
    const [found] = refusals(direct(hours, { refusedIps: many }));
    assert.equal(found?.evidence.ip_count, 11);
    assert.deepEqual(found?.evidence.ips.map((r) => r.ip), ['198.51.100.11', '198.51.100.1', '198.51.100.10', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5', '198.51.100.6', '198.51.100.7', '198.51.100.8']);
  });

  it('orders findings of one time by type, then key, then evidence', () => {
    const other: KeyInfo = { id: 'key_b', name: 'warehouse', created_at: KEY.created_at };
    const hour = hoursAgo(2);
    const hourly = [other.id, KEY.id].flatMap((keyId) => [{ ...row(hour, 60, 404, 'not_found'), key_id: keyId }, { ...row(hour, 2, 403, 'ip_not_allowed'), key_id: keyId }]);
    const found = scan({ hourly }, { keys: [other, KEY] });
    assert.deepEqual(found.map((a) => [a.type, a.key.id]), [['error_burst', KEY.id], ['error_burst', other.id], ['ip_refused', KEY.id], ['ip_refused', other.id]]);
    const twoIps = newIps(scan(plus(traffic(steady(50)), { ipDays: [ipDay('198.51.99.9', hoursAgo(2), 1), ipDay('198.51.100.10', hoursAgo(2), 1)] })));
    assert.deepEqual(twoIps.map((a) => a.evidence.ip), ['198.51.100.10', '198.51.99.9']);
  });
});
