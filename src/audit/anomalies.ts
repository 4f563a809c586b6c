import ipaddr from 'ipaddr.js';
import { parseIpAddress } from '../http/client-ip.js';
import { HOUR_MS, addDays, dayOf, daysBetween, floorHour } from './hours.js';

/*
 * The anomaly rules: pure functions over rollup rows (audit_usage_hourly, audit_ip_daily) and, for the
 * IPs of refused calls only, a few grouped audit events. Each rule's thresholds are the named constants
 * below. They are tuned so that ordinary traffic flags nothing: steady or diurnal volume, a daily batch
 * job, the same few source IPs, and a few percent of 4xx (anomalies.test.ts holds those profiles).
 */

/** One key's requests in one UTC hour, by status class, summed over routes, error codes and scopes. */
export interface HourTotals {
  key_id: string;
  hour: Date;
  requests: number;
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
  /** The 4xx that the IP allowlist refused (error code ip_not_allowed). */
  refused: number;
}

/** One key's 4xx in one hour with one status and error code ('' for none): the evidence of a burst. */
export interface ErrorCodeCount {
  key_id: string;
  hour: Date;
  status: number;
  error_code: string;
  requests: number;
}

/** One key's calls from one source IP on one UTC day (YYYY-MM-DD), as audit_ip_daily holds them. */
export interface IpDay {
  key_id: string;
  day: string;
  source_ip: string;
  first_seen: Date;
  last_seen: Date;
  requests: number;
}

export interface KeyInfo {
  id: string;
  name: string;
  created_at: Date;
}

export interface TimeWindow {
  from: Date;
  to: Date;
}

/** A stretch of one key's hours whose refused calls were read from audit_events for their source IPs. */
export interface RefusalScan {
  key_id: string;
  from: Date;
  to: Date;
}

// --- volume_spike -------------------------------------------------------------------------------------

/** The baseline of an hour is the key's hourly counts over the 7 days (168 hours) before it, zeros included. */
export const SPIKE_BASELINE_HOURS = 168;
/** A key younger than a day has too little baseline to judge: its hours are not flagged. */
export const SPIKE_MIN_BASELINE_HOURS = 24;
/** An hour is a spike at mean + 4 standard deviations of the baseline… */
export const SPIKE_STDDEVS = 4;
/** …and at least 3× the baseline's mean (steady traffic has a tiny deviation)… */
export const SPIKE_MEAN_FACTOR = 3;
/** …and at least 1.5× the baseline's busiest hour, so that a daily batch job at its usual size is not a spike… */
export const SPIKE_PEAK_FACTOR = 1.5;
/** …and at least 100 requests, so that a quiet key going from 2 to 12 calls is not a spike. */
export const SPIKE_MIN_REQUESTS = 100;
/** High severity at twice the threshold. */
export const SPIKE_HIGH_FACTOR = 2;

// --- new_source_ip ------------------------------------------------------------------------------------

/** A network is new to a key when the key has not been called from it in the 30 days before… */
export const NEW_IP_LOOKBACK_DAYS = 30;
/** …the network being the IPv4 address's /24 or the IPv6 address's /48… */
export const NEW_IP_IPV4_PREFIX = 24;
export const NEW_IP_IPV6_PREFIX = 48;
/** …and the key past its first day of calls in the lookback, which teaches the rule its usual networks. */
export const NEW_IP_LEARNING_HOURS = 24;

// --- error_burst --------------------------------------------------------------------------------------

/** An hour is a burst with at least 20 client errors (4xx)… */
export const BURST_MIN_CLIENT_ERRORS = 20;
/** …that are at least half of the hour's requests. */
export const BURST_MIN_SHARE = 0.5;
/** High severity with at least 100 client errors that are at least 90% of the hour's requests. */
export const BURST_HIGH_MIN_CLIENT_ERRORS = 100;
export const BURST_HIGH_MIN_SHARE = 0.9;
/** The most frequent error codes shown as evidence. */
export const BURST_TOP_CODES = 5;

// --- ip_refused ---------------------------------------------------------------------------------------

/**
 * Calls refused by the key's IP allowlist: any count is flagged (high), one anomaly per key and UTC day.
 * They are not counted as client errors by error_burst, which would only say the same thing again.
 */
export const REFUSED_ERROR_CODE = 'ip_not_allowed';
/**
 * The rollups count refusals per hour but do not say from where; the source IPs are read from
 * audit_events for the key's 48 most recent refused hours in the window. That read costs the events of
 * those hours (index ranges on (created_at, id) or (key_id, id), ids being time-sortable), so it is bounded.
 */
export const REFUSED_MAX_HOURS_SCANNED = 48;
export const REFUSED_TOP_IPS = 10;

// ------------------------------------------------------------------------------------------------------

export type Severity = 'low' | 'medium' | 'high';
export type AnomalyType = 'volume_spike' | 'new_source_ip' | 'error_burst' | 'ip_refused';

interface AnomalyOf<T extends AnomalyType, E> {
  type: T;
  key: { id: string; name: string };
  severity: Severity;
  window: { from: string; to: string };
  summary: string;
  evidence: E;
}

export interface VolumeSpikeEvidence {
  hour: string;
  requests: number;
  threshold: number;
  baseline: { hours: number; mean: number; stddev: number; peak: number };
}

export interface NewSourceIpEvidence {
  /** The network's first IP to call the key; `ip_count` counts the network's IPs that did. */
  ip: string;
  network: string;
  ip_count: number;
  first_seen: string;
  last_seen: string;
  requests: number;
  lookback_days: number;
}

export interface ErrorBurstEvidence {
  hour: string;
  client_errors: number;
  requests: number;
  share: number;
  top_error_codes: Array<{ error_code: string | null; status: number; requests: number }>;
}

export interface IpRefusedEvidence {
  refused: number;
  per_hour: Array<{ hour: string; requests: number }>;
  ips: Array<{ ip: string; requests: number; first_seen: string; last_seen: string }>;
  ip_count: number;
  /** False when some of these refused hours were beyond the hours read for IPs (REFUSED_MAX_HOURS_SCANNED). */
  ips_complete: boolean;
}

export type Anomaly =
  | AnomalyOf<'volume_spike', VolumeSpikeEvidence>
  | AnomalyOf<'new_source_ip', NewSourceIpEvidence>
  | AnomalyOf<'error_burst', ErrorBurstEvidence>
  | AnomalyOf<'ip_refused', IpRefusedEvidence>;

export interface ScanInput {
  window: TimeWindow;
  keys: readonly KeyInfo[];
  /** From hourlyRowsFrom(window) to window.to. */
  hours: readonly HourTotals[];
  /** The client errors of the keys and hours burstHours(hours, window) names, by status and code. */
  burstCodes: readonly ErrorCodeCount[];
  /** From ipDaysFrom(window) to the day of window.to. */
  ipDays: readonly IpDay[];
  /** Refused calls grouped by key, day and IP, read over refusalScans(hours, window). */
  refusedIps: readonly IpDay[];
  scans: readonly RefusalScan[];
}

/**
 * What the database may leave out of a scan's hourly totals, since no rule could flag it: keys that never
 * reach SPIKE_MIN_REQUESTS in an hour of the window need no baseline, and their other hours matter only
 * with refusals or at least BURST_MIN_CLIENT_ERRORS client errors.
 */
export interface ScanPrefilter {
  windowStart: Date;
  minHourRequests: number;
  minClientErrors: number;
}

export function scanPrefilter(window: TimeWindow): ScanPrefilter {
  return { windowStart: floorHour(window.from), minHourRequests: SPIKE_MIN_REQUESTS, minClientErrors: BURST_MIN_CLIENT_ERRORS };
}

/** The first hour the rules need: a full baseline before the window's first hour. */
export function hourlyRowsFrom(window: TimeWindow): Date {
  return new Date(floorHour(window.from).getTime() - SPIKE_BASELINE_HOURS * HOUR_MS);
}

/** The first day the rules need: the lookback before the window's first day. */
export function ipDaysFrom(window: TimeWindow): string {
  return addDays(dayOf(window.from), -NEW_IP_LOOKBACK_DAYS);
}

/** Every rule over one scan, newest first (by the start of what was flagged). */
export function detectAnomalies(input: ScanInput): Anomaly[] {
  const keys = new Map(input.keys.map((k) => [k.id, k]));
  const found = [
    ...volumeSpikes(input.hours, keys, input.window),
    ...newSourceIps(input.ipDays, keys, input.window),
    ...errorBursts(input.hours, input.burstCodes, keys, input.window),
    ...ipRefusals(input.hours, input.refusedIps, input.scans, keys, input.window),
  ];
  return found.sort(
    (a, b) => cmp(b.window.from, a.window.from) || cmp(a.type, b.type) || cmp(a.key.id, b.key.id) || cmp(JSON.stringify(a.evidence), JSON.stringify(b.evidence)),
  );
}

/**
 * What makes a finding the same finding on every scan that sees it, whatever its counts have grown to
 * since: the rule, the key and what was flagged (the hour of a spike or a burst, the network and its first
 * day of a new network, the day of refusals). The detector stores each fingerprint once.
 */
export function anomalyFingerprint(anomaly: Anomaly): string {
  const what = (() => {
    switch (anomaly.type) {
      case 'volume_spike':
      case 'error_burst':
        return anomaly.evidence.hour;
      case 'new_source_ip':
        return `${anomaly.evidence.network} ${anomaly.evidence.first_seen.slice(0, 10)}`;
      case 'ip_refused':
        return anomaly.window.from.slice(0, 10);
    }
  })();
  return `${anomaly.type} ${anomaly.key.id} ${what}`;
}

// --- volume_spike -------------------------------------------------------------------------------------

export interface Baseline {
  hours: number;
  mean: number;
  stddev: number;
  peak: number;
}

export function spikeThreshold(baseline: Baseline): number {
  return Math.ceil(
    Math.max(baseline.mean + SPIKE_STDDEVS * baseline.stddev, SPIKE_MEAN_FACTOR * baseline.mean, SPIKE_PEAK_FACTOR * baseline.peak, SPIKE_MIN_REQUESTS),
  );
}

/**
 * Each key's hourly counts from hourlyRowsFrom(window) to the window's last hour as one dense array, with
 * running sums of counts and squares: any hour's baseline mean and deviation in constant time.
 */
function hourSeries(hours: readonly HourTotals[], window: TimeWindow) {
  const first = hourlyRowsFrom(window).getTime();
  const length = (floorHour(new Date(window.to.getTime() - 1)).getTime() - first) / HOUR_MS + 1;
  const series = new Map<string, Float64Array>();
  for (const row of hours) {
    const index = (row.hour.getTime() - first) / HOUR_MS;
    if (index < 0 || index >= length) continue;
    let counts = series.get(row.key_id);
    if (!counts) series.set(row.key_id, (counts = new Float64Array(length)));
    counts[index] = (counts[index] ?? 0) + row.requests;
  }
  return { first, series };
}

export function volumeSpikes(hours: readonly HourTotals[], keys: ReadonlyMap<string, KeyInfo>, window: TimeWindow): Anomaly[] {
  const found: Anomaly[] = [];
  const { first, series } = hourSeries(hours, window);
  for (const [keyId, counts] of series) {
    const key = keys.get(keyId);
    if (!key) continue;
    const sums = new Float64Array(counts.length + 1);
    const squares = new Float64Array(counts.length + 1);
    counts.forEach((count, i) => {
      sums[i + 1] = sums[i]! + count;
      squares[i + 1] = squares[i]! + count * count;
    });
    // Hours before the key existed are not zeros of its baseline.
    const created = Math.floor((floorHour(key.created_at).getTime() - first) / HOUR_MS);
    for (let i = SPIKE_BASELINE_HOURS; i < counts.length; i++) {
      const requests = counts[i]!;
      if (requests < SPIKE_MIN_REQUESTS) continue;
      const start = Math.max(i - SPIKE_BASELINE_HOURS, created);
      const span = i - start;
      if (span < SPIKE_MIN_BASELINE_HOURS) continue;
      const mean = (sums[i]! - sums[start]!) / span;
      const stddev = Math.sqrt(Math.max(0, (squares[i]! - squares[start]!) / span - mean * mean));
      // The peak costs a pass over the baseline: only for hours that pass the other bounds.
      if (requests < Math.max(mean + SPIKE_STDDEVS * stddev, SPIKE_MEAN_FACTOR * mean)) continue;
      const baseline = { hours: span, mean, stddev, peak: Math.max(...counts.subarray(start, i)) };
      const threshold = spikeThreshold(baseline);
      if (requests < threshold) continue;
      const hour = first + i * HOUR_MS;
      const shown = { hours: span, mean: round(mean, 1), stddev: round(stddev, 1), peak: baseline.peak };
      found.push({
        type: 'volume_spike',
        key: { id: key.id, name: key.name },
        severity: requests >= SPIKE_HIGH_FACTOR * threshold ? 'high' : 'medium',
        window: hourWindow(hour),
        summary:
          `"${key.name}" made ${count(requests, 'request')} in the hour from ${formatHour(hour)}, ` +
          `against ${formatNumber(shown.mean)} ± ${formatNumber(shown.stddev)} an hour over the previous ${formatDuration(span)}.`,
        evidence: { hour: iso(hour), requests, threshold, baseline: shown },
      });
    }
  }
  return found;
}

// --- new_source_ip ------------------------------------------------------------------------------------

/** A key's rows per source IP, each list by day. */
export function ipHistories(rows: readonly IpDay[]): Map<string, Map<string, IpDay[]>> {
  const byKey = new Map<string, Map<string, IpDay[]>>();
  for (const row of rows) {
    const byIp = getOrSet(byKey, row.key_id, () => new Map<string, IpDay[]>());
    getOrSet(byIp, row.source_ip, () => []).push(row);
  }
  for (const byIp of byKey.values()) for (const list of byIp.values()) list.sort((a, b) => cmp(a.day, b.day));
  return byKey;
}

/**
 * Whether `history[index]` is the IP's (or network's) first day in the lookback: no call from it in the 30
 * days before. Only meaningful when the rows reach back the full lookback before that day.
 */
export function isFirstInLookback(history: readonly Pick<IpDay, 'day'>[], index: number): boolean {
  const previous = history[index - 1];
  const current = history[index];
  if (!current) return false;
  return !previous || daysBetween(previous.day, current.day) > NEW_IP_LOOKBACK_DAYS;
}

/**
 * The network an address belongs to as the rule judges it: its /24 (IPv4) or /48 (IPv6). A key's callers
 * move between addresses of one provider or office all the time (DHCP, NAT pools, IPv6 privacy
 * addresses); a call from another network is what is worth a look. Text that is not an address is its
 * own network.
 */
export function sourceNetwork(ip: string): string {
  const address = parseIpAddress(ip);
  if (address === null) return ip;
  if (address.kind() === 'ipv4') {
    const [a, b, c] = address.toByteArray();
    return `${a}.${b}.${c}.0/${NEW_IP_IPV4_PREFIX}`;
  }
  const parts = (address as ipaddr.IPv6).parts.slice(0, NEW_IP_IPV6_PREFIX / 16);
  return `${new ipaddr.IPv6([...parts, ...Array<number>(8 - parts.length).fill(0)]).toRFC5952String()}/${NEW_IP_IPV6_PREFIX}`;
}

/** One key's calls from one network on one day: its IPs' rows added up, the first IP to call named. */
interface NetworkDay {
  day: string;
  network: string;
  first_ip: string;
  ips: Set<string>;
  first_seen: Date;
  last_seen: Date;
  requests: number;
}

/** A key's calls per network, each list by day. */
function networkHistories(rows: readonly IpDay[]): Map<string, NetworkDay[]> {
  const byDay = new Map<string, NetworkDay>();
  for (const row of rows) {
    const network = sourceNetwork(row.source_ip);
    const entry = getOrSet(byDay, `${network} ${row.day}`, () => ({
      day: row.day,
      network,
      first_ip: row.source_ip,
      ips: new Set<string>(),
      first_seen: row.first_seen,
      last_seen: row.last_seen,
      requests: 0,
    }));
    entry.ips.add(row.source_ip);
    entry.requests += row.requests;
    if (row.first_seen < entry.first_seen || (row.first_seen.getTime() === entry.first_seen.getTime() && row.source_ip < entry.first_ip)) {
      entry.first_seen = row.first_seen;
      entry.first_ip = row.source_ip;
    }
    if (row.last_seen > entry.last_seen) entry.last_seen = row.last_seen;
  }
  const histories = new Map<string, NetworkDay[]>();
  for (const entry of byDay.values()) getOrSet(histories, entry.network, () => []).push(entry);
  for (const list of histories.values()) list.sort((a, b) => cmp(a.day, b.day));
  return histories;
}

export function newSourceIps(rows: readonly IpDay[], keys: ReadonlyMap<string, KeyInfo>, window: TimeWindow): Anomaly[] {
  const found: Anomaly[] = [];
  const firstDay = dayOf(window.from);
  const rowsByKey = new Map<string, IpDay[]>();
  for (const row of rows) getOrSet(rowsByKey, row.key_id, () => []).push(row);
  for (const [keyId, keyRows] of rowsByKey) {
    const key = keys.get(keyId);
    if (!key) continue;
    /*
     * A key's first day of calls (brand new, or back after 30 days without any) teaches the rule its usual
     * networks: a new network is flagged only from a day after the key's first call in the lookback.
     */
    const learnedBy = (day: string, at: Date) => {
      const since = keyRows.filter((r) => r.day <= day && daysBetween(r.day, day) <= NEW_IP_LOOKBACK_DAYS);
      const first = Math.min(...since.map((r) => r.first_seen.getTime()));
      return at.getTime() - first >= NEW_IP_LEARNING_HOURS * HOUR_MS;
    };
    for (const history of networkHistories(keyRows).values()) {
      history.forEach((row, index) => {
        if (row.day < firstDay || !isFirstInLookback(history, index)) return;
        if (row.first_seen < window.from || row.first_seen >= window.to || !learnedBy(row.day, row.first_seen)) return;
        const until = history.findIndex((later, i) => i > index && isFirstInLookback(history, i));
        const span = history.slice(index, until < 0 ? undefined : until);
        const requests = sum(span.map((r) => r.requests));
        const ips = new Set(span.flatMap((r) => [...r.ips]));
        const lastSeen = new Date(Math.max(...span.map((r) => r.last_seen.getTime())));
        const others = ips.size > 1 ? ` and ${count(ips.size - 1, 'other IP')} of it` : '';
        found.push({
          type: 'new_source_ip',
          key: { id: key.id, name: key.name },
          severity: 'medium',
          window: { from: row.first_seen.toISOString(), to: lastSeen.toISOString() },
          summary:
            `"${key.name}" was called from ${row.first_ip}${others}, in ${row.network}, a network it had not used in the previous ${NEW_IP_LOOKBACK_DAYS} days: ` +
            `${count(requests, 'request')} from ${formatMinute(row.first_seen)}.`,
          evidence: {
            ip: row.first_ip,
            network: row.network,
            ip_count: ips.size,
            first_seen: row.first_seen.toISOString(),
            last_seen: lastSeen.toISOString(),
            requests,
            lookback_days: NEW_IP_LOOKBACK_DAYS,
          },
        });
      });
    }
  }
  return found;
}

// --- error_burst --------------------------------------------------------------------------------------

/** The keys' hours that are bursts: enough client errors (4xx not refused by the allowlist), a large enough share. */
export function burstHours(hours: readonly HourTotals[], window: TimeWindow): Array<HourTotals & { client_errors: number; share: number }> {
  const bursts: Array<HourTotals & { client_errors: number; share: number }> = [];
  for (const row of hours) {
    if (!overlaps(row.hour.getTime(), window)) continue;
    const clientErrors = row['4xx'] - row.refused;
    const judged = row.requests - row.refused;
    const share = judged > 0 ? clientErrors / judged : 0;
    if (clientErrors >= BURST_MIN_CLIENT_ERRORS && share >= BURST_MIN_SHARE) bursts.push({ ...row, client_errors: clientErrors, share });
  }
  return bursts;
}

export function errorBursts(
  hours: readonly HourTotals[],
  codes: readonly ErrorCodeCount[],
  keys: ReadonlyMap<string, KeyInfo>,
  window: TimeWindow,
): Anomaly[] {
  const codesByHour = new Map<string, ErrorCodeCount[]>();
  for (const code of codes) {
    if (code.error_code !== REFUSED_ERROR_CODE) getOrSet(codesByHour, `${code.key_id} ${code.hour.getTime()}`, () => []).push(code);
  }
  const found: Anomaly[] = [];
  for (const burst of burstHours(hours, window)) {
    const key = keys.get(burst.key_id);
    if (!key) continue;
    const hour = burst.hour.getTime();
    const top = (codesByHour.get(`${burst.key_id} ${hour}`) ?? [])
      .map((c) => ({ error_code: c.error_code || null, status: c.status, requests: c.requests }))
      .sort((a, b) => b.requests - a.requests || cmp(a.error_code ?? '', b.error_code ?? ''))
      .slice(0, BURST_TOP_CODES);
    const judged = burst.requests - burst.refused;
    const mostly = top[0] ? `, mostly ${top[0].error_code ?? top[0].status}` : '';
    found.push({
      type: 'error_burst',
      key: { id: key.id, name: key.name },
      severity: burst.client_errors >= BURST_HIGH_MIN_CLIENT_ERRORS && burst.share >= BURST_HIGH_MIN_SHARE ? 'high' : 'medium',
      window: hourWindow(hour),
      summary: `"${key.name}" got ${count(burst.client_errors, 'client error')} (4xx) out of ${count(judged, 'request')} in the hour from ${formatHour(hour)}${mostly}.`,
      evidence: { hour: iso(hour), client_errors: burst.client_errors, requests: judged, share: round(burst.share, 3), top_error_codes: top },
    });
  }
  return found;
}

// --- ip_refused ---------------------------------------------------------------------------------------

/** The refused hours whose events are read for IPs: each key's most recent ones, adjacent hours merged. */
export function refusalScans(hours: readonly HourTotals[], window: TimeWindow): RefusalScan[] {
  const hoursByKey = new Map<string, Set<number>>();
  for (const row of hours) {
    if (row.refused <= 0 || !overlaps(row.hour.getTime(), window)) continue;
    getOrSet(hoursByKey, row.key_id, () => new Set<number>()).add(row.hour.getTime());
  }
  const scans: RefusalScan[] = [];
  for (const [keyId, set] of hoursByKey) {
    const hours = [...set].sort((a, b) => b - a).slice(0, REFUSED_MAX_HOURS_SCANNED).reverse();
    let current: { from: number; to: number } | null = null;
    for (const hour of hours) {
      if (current && current.to === hour) {
        current.to = hour + HOUR_MS;
        continue;
      }
      if (current) scans.push({ key_id: keyId, from: new Date(current.from), to: new Date(current.to) });
      current = { from: hour, to: hour + HOUR_MS };
    }
    if (current) scans.push({ key_id: keyId, from: new Date(current.from), to: new Date(current.to) });
  }
  return scans;
}

export function ipRefusals(
  hours: readonly HourTotals[],
  refusedIps: readonly IpDay[],
  scans: readonly RefusalScan[],
  keys: ReadonlyMap<string, KeyInfo>,
  window: TimeWindow,
): Anomaly[] {
  // key → day → hour → refused calls
  const refused = new Map<string, Map<string, Map<number, number>>>();
  for (const row of hours) {
    const hour = row.hour.getTime();
    if (row.refused <= 0 || !overlaps(hour, window)) continue;
    const byHour = getOrSet(getOrSet(refused, row.key_id, () => new Map<string, Map<number, number>>()), dayOf(row.hour), () => new Map<number, number>());
    byHour.set(hour, (byHour.get(hour) ?? 0) + row.refused);
  }
  const found: Anomaly[] = [];
  for (const [keyId, days] of refused) {
    const key = keys.get(keyId);
    if (!key) continue;
    const scanned = (hour: number) => scans.some((s) => s.key_id === keyId && s.from.getTime() <= hour && hour < s.to.getTime());
    for (const [day, byHour] of days) {
      const perHour = [...byHour.entries()].sort(([a], [b]) => a - b);
      const total = sum(perHour.map(([, n]) => n));
      const ips = refusedIps
        .filter((r) => r.key_id === keyId && r.day === day)
        .sort((a, b) => b.requests - a.requests || cmp(a.source_ip, b.source_ip));
      const from = perHour[0]?.[0] ?? 0;
      const to = (perHour.at(-1)?.[0] ?? 0) + HOUR_MS;
      const fromWhere = ips.length === 1 ? `, from ${ips[0]?.source_ip}` : ips.length > 1 ? `, from ${ips.length} IPs` : '';
      found.push({
        type: 'ip_refused',
        key: { id: key.id, name: key.name },
        severity: 'high',
        window: { from: iso(from), to: iso(to) },
        summary: `"${key.name}" had ${count(total, 'call')} refused on ${day} because the source IP is outside its allowlist${fromWhere}.`,
        evidence: {
          refused: total,
          per_hour: perHour.map(([hour, requests]) => ({ hour: iso(hour), requests })),
          ips: ips.slice(0, REFUSED_TOP_IPS).map((r) => ({ ip: r.source_ip, requests: r.requests, first_seen: r.first_seen.toISOString(), last_seen: r.last_seen.toISOString() })),
          ip_count: ips.length,
          ips_complete: perHour.every(([hour]) => scanned(hour)),
        },
      });
    }
  }
  return found;
}

// --- helpers ------------------------------------------------------------------------------------------

/** Whether the hour starting at `hour` (ms) overlaps the window. */
function overlaps(hour: number, window: TimeWindow): boolean {
  return hour + HOUR_MS > window.from.getTime() && hour < window.to.getTime();
}

function hourWindow(hour: number): { from: string; to: string } {
  return { from: iso(hour), to: iso(hour + HOUR_MS) };
}

function getOrSet<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, n) => total + n, 0);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function formatNumber(value: number): string {
  return value.toLocaleString('en-US');
}

function count(n: number, noun: string): string {
  return `${formatNumber(n)} ${noun}${n === 1 ? '' : 's'}`;
}

function formatHour(ms: number): string {
  return `${iso(ms).slice(11, 16)} UTC on ${iso(ms).slice(0, 10)}`;
}

function formatMinute(date: Date): string {
  return `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 16)} UTC`;
}

function formatDuration(hours: number): string {
  return hours % 24 === 0 ? `${hours / 24} day${hours === 24 ? '' : 's'}` : `${hours} hours`;
}
