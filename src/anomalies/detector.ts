import type { FastifyBaseLogger } from 'fastify';
import { anomalyFingerprint, type Anomaly } from '../audit/anomalies.js';
import { HOUR_MS, floorHour } from '../audit/hours.js';
import { createUsageRepo } from '../audit/usage-repo.js';
import { createUsageService } from '../audit/usage-service.js';
import { withAdvisoryLock } from '../db/advisory-lock.js';
import type { Db } from '../db/client.js';
import { emitEvent } from '../events/outbox.js';
import { createKeysRepo } from '../keys/keys-repo.js';
import { presentFinding } from './findings-present.js';
import { createFindingsRepo } from './findings-repo.js';

/** One number for "the anomaly detector" among all advisory locks: 'lkad' in ASCII. */
export const DETECTOR_LOCK_KEY = 0x6c6b6164;
export const DETECTOR_INTERVAL_MS = 60_000;
/**
 * Each pass judges the last 2 hours: every rule's flagged hour or first call is seen by a hundred passes
 * or so, so a pass that fails or a rollup written late (the audit writer batches) loses nothing.
 */
export const DETECTOR_WINDOW_HOURS = 2;
/** An instance's first pass after it starts judges the last day, so a restart or an outage of the detector loses nothing younger. */
export const DETECTOR_CATCH_UP_HOURS = 24;

export interface DetectorDeps {
  db: Db;
  now: () => Date;
}

export interface DetectorPass {
  /** False when another instance held the lock: it runs the pass. */
  ran: boolean;
  workspaces: number;
  /** The findings this pass stored (and announced): each fingerprint once, ever. */
  stored: string[];
}

/**
 * One pass of the detector: the rules over the recent window of every workspace with traffic in it, each
 * new finding stored once (its fingerprint is unique) with its `anomaly.detected` event in the same
 * transaction. A finding stored before, by this pass's predecessors or by another instance racing it,
 * is neither stored nor announced again: the insert does nothing and says so.
 */
export async function runDetectorOnce(deps: DetectorDeps, options: { windowHours?: number; wait?: boolean } = {}): Promise<DetectorPass> {
  const usage = createUsageService({ db: deps.db, repo: createUsageRepo(), keys: createKeysRepo(), now: deps.now });
  const findings = createFindingsRepo();
  const result = await withAdvisoryLock(
    deps.db,
    DETECTOR_LOCK_KEY,
    async (connection) => {
      const now = deps.now();
      const window = { from: new Date(now.getTime() - (options.windowHours ?? DETECTOR_WINDOW_HOURS) * HOUR_MS), to: now };
      const workspaces = await workspacesWithTraffic(connection, floorHour(window.from));
      const stored: string[] = [];
      for (const workspaceId of workspaces) {
        const found = await usage.detect(connection, workspaceId, window);
        const known = await findings.storedFingerprints(connection, found.map(anomalyFingerprint));
        const fresh = found.filter((anomaly) => !known.has(anomalyFingerprint(anomaly)));
        if (fresh.length === 0) continue;
        // One transaction per workspace: its findings and their events commit together, and early.
        await connection.transaction().execute(async (tx) => {
          for (const anomaly of fresh) {
            const id = await findings.insertIfNew(tx, newFinding(workspaceId, anomaly), now);
            if (id === null) continue;
            const row = await findings.find(tx, workspaceId, id);
            if (!row) continue;
            await emitEvent(tx, { type: 'anomaly.detected', workspaceId, data: { object: presentFinding(row) } });
            stored.push(id);
          }
        });
      }
      return { workspaces: workspaces.length, stored };
    },
    { wait: options.wait === true },
  );
  return result.ran ? { ran: true, ...result.value } : { ran: false, workspaces: 0, stored: [] };
}

function newFinding(workspaceId: string, anomaly: Anomaly) {
  return {
    workspaceId,
    keyId: anomaly.key.id,
    rule: anomaly.type,
    severity: anomaly.severity,
    fingerprint: anomalyFingerprint(anomaly),
    summary: anomaly.summary,
    evidence: anomaly.evidence,
    windowStart: new Date(anomaly.window.from),
    windowEnd: new Date(anomaly.window.to),
  };
}

/**
 * The workspaces with calls since `since`: one probe of the rollup's (workspace_id, hour) index per
 * workspace, so a quiet installation costs little and a busy one is not read twice.
 */
async function workspacesWithTraffic(ex: Db, since: Date): Promise<string[]> {
  const rows = await ex
    .selectFrom('workspaces')
    .select('id')
    .where(({ exists, selectFrom }) =>
      exists(selectFrom('audit_usage_hourly').select('key_id').whereRef('audit_usage_hourly.workspace_id', '=', 'workspaces.id').where('audit_usage_hourly.hour', '>=', since)),
    )
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}

/**
 * The detector on this instance: a pass every minute (the first over the last day), each on one
 * instance at a time. Failures are logged and the next pass tries again.
 */
export function startDetector(deps: DetectorDeps & { log: FastifyBaseLogger; intervalMs?: number }): { close(): Promise<void> } {
  let catchUp = true;
  let current: Promise<void> | null = null;
  const pass = async () => {
    try {
      const result = await runDetectorOnce(deps, { windowHours: catchUp ? DETECTOR_CATCH_UP_HOURS : DETECTOR_WINDOW_HOURS });
      catchUp = false;
      if (result.stored.length > 0) deps.log.info({ findings: result.stored }, 'anomaly findings stored');
    } catch (error) {
      deps.log.error({ err: error }, 'anomaly detection failed; the next pass tries again');
    }
  };
  // A pass still running when the next is due (a slow database) is not doubled: the next tick skips.
  const timer = setInterval(() => {
    current ??= pass().finally(() => (current = null));
  }, deps.intervalMs ?? DETECTOR_INTERVAL_MS);
  timer.unref();
  return {
    close: async () => {
      clearInterval(timer);
      await current;
    },
  };
}
