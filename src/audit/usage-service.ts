import type { Db, Executor } from '../db/client.js';
import { invalidRequest, notFound } from '../http/errors.js';
import type { KeysRepo } from '../keys/keys-repo.js';
import {
  anomalyFingerprint,
  burstHours,
  detectAnomalies,
  hourlyRowsFrom,
  ipDaysFrom,
  refusalScans,
  scanPrefilter,
  type Anomaly,
  type KeyInfo,
  type TimeWindow,
} from './anomalies.js';
import { DAY_MS, HOUR_MS, addDays, dayOf, startOfDay } from './hours.js';
import type { UsageRepo, UsageScope } from './usage-repo.js';
import { perDay, perHour, scopeSummary, sourceIps, topRoutes, totals } from './usage-summary.js';

export const MAX_USAGE_DAYS = 90;
export const MAX_ANOMALY_RANGE_DAYS = 90;
export const DEFAULT_ANOMALY_RANGE_HOURS = 24;
/** A scan answers at most this many anomalies, newest first; `has_more` says when there were more. */
export const MAX_ANOMALIES = 500;

export interface UsageDeps {
  db: Db;
  repo: UsageRepo;
  keys: Pick<KeysRepo, 'findKey'>;
  now: () => Date;
}

export interface AnomalyQuery {
  from?: Date | undefined;
  to?: Date | undefined;
  key_id?: string | undefined;
}

function presentAnomaly(anomaly: Anomaly) {
  return { object: 'anomaly' as const, ...anomaly };
}

export function createUsageService(deps: UsageDeps) {
  const { db, repo } = deps;

  /**
   * Every rule over one window, for a workspace or one of its keys: the rollups, plus refused calls' IPs.
   * `complete` reads every hourly total (the usage shows them); otherwise only those a rule could flag.
   */
  async function scan(scope: UsageScope, window: TimeWindow, loadKeys: () => Promise<readonly KeyInfo[]>, complete: boolean, ex: Executor = db) {
    const from = hourlyRowsFrom(window);
    const [hours, ipDays, keys] = await Promise.all([
      complete ? repo.hourTotals(ex, scope, from, window.to) : repo.scanHourTotals(ex, scope, from, window.to, scanPrefilter(window)),
      repo.ipDays(ex, scope, ipDaysFrom(window), dayOf(window.to)),
      loadKeys(),
    ]);
    // Evidence the hourly totals do not hold, read only when a rule needs it: refused calls' IPs, bursts' error codes.
    const scans = refusalScans(hours, window);
    const bursts = burstHours(hours, window);
    const [refusedIps, burstCodes] = await Promise.all([
      repo.refusedIps(ex, scope.workspaceId, scans),
      bursts.length === 0
        ? []
        : repo.errorCodes(
            ex,
            scope.workspaceId,
            [...new Set(bursts.map((b) => b.key_id))],
            new Date(Math.min(...bursts.map((b) => b.hour.getTime()))),
            new Date(Math.max(...bursts.map((b) => b.hour.getTime())) + HOUR_MS),
          ),
    ]);
    return { hours, ipDays, anomalies: detectAnomalies({ window, keys, hours, burstCodes, ipDays, refusedIps, scans }) };
  }

  function anomalyWindow(query: AnomalyQuery): TimeWindow {
    const to = query.to ?? deps.now();
    const from = query.from ?? new Date(to.getTime() - DEFAULT_ANOMALY_RANGE_HOURS * HOUR_MS);
    if (from >= to) throw invalidRequest('from', 'from must be earlier than to.');
    if (to.getTime() - from.getTime() > MAX_ANOMALY_RANGE_DAYS * DAY_MS) {
      throw invalidRequest('from', `from and to must be at most ${MAX_ANOMALY_RANGE_DAYS} days apart.`);
    }
    return { from, to };
  }

  return {
    /** A key's last `days` days (today included): per day, the last 48 hours, routes, IPs, scopes, anomalies. */
    async usage(workspaceId: string, keyId: string, days: number) {
      const key = await deps.keys.findKey(db, workspaceId, keyId);
      if (!key) throw notFound('API key');
      const now = deps.now();
      const firstDay = addDays(dayOf(now), -(days - 1));
      const window = { from: startOfDay(firstDay), to: now };
      const scope = { workspaceId, keyId };
      const [scanned, routes] = await Promise.all([scan(scope, window, async () => [key], true), repo.routeTotals(db, keyId, window.from, window.to)]);
      const inPeriod = scanned.hours.filter((row) => row.hour >= window.from);
      // Computed on read, so that the anomalies match the charts beside them over any number of days; each
      // names the finding the detector stored for it, when it did, for its status and a link.
      const stored = await repo.findingsOf(db, workspaceId, scanned.anomalies.map(anomalyFingerprint));
      return {
        object: 'api_key_usage' as const,
        key: { id: key.id, name: key.name },
        days,
        period: { from: window.from.toISOString(), to: window.to.toISOString() },
        totals: totals(inPeriod),
        per_day: perDay(inPeriod, firstDay, days),
        per_hour: perHour(scanned.hours, now),
        top_routes: topRoutes(routes),
        source_ips: sourceIps(scanned.ipDays, firstDay),
        scopes: scopeSummary(key.scopes, routes, days),
        anomalies: scanned.anomalies.map((anomaly) => ({ ...presentAnomaly(anomaly), finding: stored.get(anomalyFingerprint(anomaly)) ?? null })),
      };
    },

    /**
     * Every rule over a workspace's rollups in a window, read through `ex` (the detector's connection),
     * without a cap: what the detector stores.
     */
    async detect(ex: Executor, workspaceId: string, window: TimeWindow): Promise<Anomaly[]> {
      return (await scan({ workspaceId }, window, () => repo.keysOf(ex, workspaceId), false, ex)).anomalies;
    },

    /**
     * The workspace's flagged patterns in a window (default: the last 24 hours), or one key's, computed
     * on read: the benchmark's measure of a scan. The API lists stored findings (src/anomalies/).
     */
    async anomalies(workspaceId: string, query: AnomalyQuery) {
      const window = anomalyWindow(query);
      let loadKeys = () => repo.keysOf(db, workspaceId);
      if (query.key_id !== undefined) {
        const key = await deps.keys.findKey(db, workspaceId, query.key_id);
        if (!key) throw notFound('API key');
        loadKeys = async () => [key];
      }
      const { anomalies } = await scan({ workspaceId, keyId: query.key_id }, window, loadKeys, false);
      return {
        object: 'list' as const,
        window: { from: window.from.toISOString(), to: window.to.toISOString() },
        data: anomalies.slice(0, MAX_ANOMALIES).map(presentAnomaly),
        has_more: anomalies.length > MAX_ANOMALIES,
        next_cursor: null,
      };
    },
  };
}

export type UsageService = ReturnType<typeof createUsageService>;
