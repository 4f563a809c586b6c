import { iso } from '../http/schemas.js';
import type { FindingRow } from './findings-repo.js';

/** The anomaly object of the API and of `anomaly.detected` events: a stored finding with its key. */
export function presentFinding(row: FindingRow) {
  return {
    object: 'anomaly' as const,
    id: row.id,
    rule: row.rule,
    severity: row.severity,
    status: row.status,
    summary: row.summary,
    api_key: row.key_id === null ? null : { id: row.key_id, name: row.key_name, prefix: row.key_prefix },
    evidence: row.evidence,
    window: { start: row.window_start.toISOString(), end: row.window_end.toISOString() },
    detected_at: row.detected_at.toISOString(),
    acknowledged_at: iso(row.acknowledged_at),
    acknowledged_by: row.acknowledged_by,
    resolved_at: iso(row.resolved_at),
    resolved_by: row.resolved_by,
  };
}

export type AnomalyObject = ReturnType<typeof presentFinding>;
