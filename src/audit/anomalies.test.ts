import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BURST_MIN_CLIENT_ERRORS,
  REFUSED_MAX_HOURS_SCANNED,
  SPIKE_MIN_REQUESTS,
  detectAnomalies,
  refusalScans,
  spikeThreshold,
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
    { name: 'a brand-new key\'s first IPs', data: { hourly: [], ipDays: [ipDay('198.51.100.7', hoursAgo(3), 5), ipDay('198.51.100.8', hoursAgo(1), 5)] }, flagged: [] },
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
      first_seen: hoursAgo(2).toISOString(),
      last_seen: new Date(hoursAgo(2).getTime() + 60_000).toISOString(),
      requests: 12,
      lookback_days: 30,
    });
    assert.equal(found?.severity, 'medium');
    assert.match(found?.summary ?? '', /^"crm-sync" was called from 198\.51\.100\.7, an IP it had not used in the previous 30 days: 12 requests from 2026-03-1\d \d\d:00 UTC\.$/);
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
