import { ipHistories, isFirstInLookback, type HourTotals, type IpDay } from './anomalies.js';
import { HOUR_MS, addDays, dayOf } from './hours.js';

/** A key's usage at a glance, summarized from rollup rows: pure, so the service only fetches and assembles. */

export const TOP_ROUTES = 10;
export const MAX_SOURCE_IPS = 100;
export const RECENT_HOURS = 48;

export interface StatusCounts {
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
  total: number;
}

/** A key's requests in the period per route and scope used ('' for none), split by failed (status ≥ 400) or not. */
export interface RouteTotal {
  route: string;
  scope_used: string;
  failed: boolean;
  requests: number;
}

function emptyCounts(): StatusCounts {
  return { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, total: 0 };
}

function add(counts: StatusCounts, row: HourTotals): void {
  counts['2xx'] += row['2xx'];
  counts['3xx'] += row['3xx'];
  counts['4xx'] += row['4xx'];
  counts['5xx'] += row['5xx'];
  counts.total += row.requests;
}

/** Every day from `firstDay` for `days` days, zeros included. */
export function perDay(rows: readonly HourTotals[], firstDay: string, days: number): Array<{ day: string } & StatusCounts> {
  const result = Array.from({ length: days }, (_, i) => ({ day: addDays(firstDay, i), ...emptyCounts() }));
  const index = new Map(result.map((entry, i) => [entry.day, i]));
  for (const row of rows) {
    const entry = result[index.get(dayOf(row.hour)) ?? -1];
    if (entry) add(entry, row);
  }
  return result;
}

/** The RECENT_HOURS hours up to and including the one `now` is in, zeros included. */
export function perHour(rows: readonly HourTotals[], now: Date): Array<{ hour: string } & StatusCounts> {
  const last = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
  const first = last - (RECENT_HOURS - 1) * HOUR_MS;
  const result = Array.from({ length: RECENT_HOURS }, (_, i) => ({ hour: new Date(first + i * HOUR_MS).toISOString(), ...emptyCounts() }));
  for (const row of rows) {
    const entry = result[(row.hour.getTime() - first) / HOUR_MS];
    if (entry) add(entry, row);
  }
  return result;
}

export function totals(rows: readonly HourTotals[]): StatusCounts {
  const counts = emptyCounts();
  for (const row of rows) add(counts, row);
  return counts;
}

/** The busiest routes; errors are responses with status ≥ 400. */
export function topRoutes(rows: readonly RouteTotal[]): Array<{ route: string; requests: number; errors: number; error_share: number }> {
  const byRoute = new Map<string, { requests: number; errors: number }>();
  for (const row of rows) {
    const entry = byRoute.get(row.route) ?? { requests: 0, errors: 0 };
    entry.requests += row.requests;
    if (row.failed) entry.errors += row.requests;
    byRoute.set(row.route, entry);
  }
  return [...byRoute.entries()]
    .map(([route, { requests, errors }]) => ({ route, requests, errors, error_share: requests > 0 ? Math.round((errors / requests) * 10_000) / 10_000 : 0 }))
    .sort((a, b) => b.requests - a.requests || (a.route < b.route ? -1 : 1))
    .slice(0, TOP_ROUTES);
}

/** Scopes granted, used (with requests) and unused, and a least-privilege hint when some are unused. */
export function scopeSummary(granted: readonly string[], rows: readonly RouteTotal[], days: number) {
  const used = new Map<string, number>();
  // A verify call may need several scopes: it records them space-separated (as OAuth writes scopes), each one used.
  for (const row of rows) {
    if (!row.scope_used) continue;
    for (const scope of row.scope_used.split(' ')) used.set(scope, (used.get(scope) ?? 0) + row.requests);
  }
  const unused = granted.filter((scope) => !used.has(scope));
  const period = `${days} day${days === 1 ? '' : 's'}`;
  return {
    granted: [...granted],
    used: [...used.entries()].map(([scope, requests]) => ({ scope, requests })).sort((a, b) => b.requests - a.requests || (a.scope < b.scope ? -1 : 1)),
    unused,
    hint: unused.length === 0 ? null : `granted but unused in ${period}: ${unused.join(', ')} — consider removing ${unused.length === 1 ? 'it' : 'them'}`,
  };
}

/**
 * Each source IP of the period, busiest first (at most MAX_SOURCE_IPS), and whether it is new: not used by the
 * key in the 30 days before its first appearance in the period. `rows` must reach back those 30 days.
 */
export function sourceIps(rows: readonly IpDay[], firstDay: string) {
  const ips: Array<{ ip: string; first_seen: string; last_seen: string; requests: number; new: boolean }> = [];
  for (const byIp of ipHistories(rows).values()) {
    for (const [ip, history] of byIp) {
      const start = history.findIndex((row) => row.day >= firstDay);
      if (start < 0) continue;
      const inPeriod = history.slice(start);
      ips.push({
        ip,
        first_seen: new Date(Math.min(...inPeriod.map((r) => r.first_seen.getTime()))).toISOString(),
        last_seen: new Date(Math.max(...inPeriod.map((r) => r.last_seen.getTime()))).toISOString(),
        requests: inPeriod.reduce((total, r) => total + r.requests, 0),
        new: isFirstInLookback(history, start),
      });
    }
  }
  ips.sort((a, b) => b.requests - a.requests || (a.ip < b.ip ? -1 : 1));
  return { count: ips.length, ips: ips.slice(0, MAX_SOURCE_IPS) };
}
