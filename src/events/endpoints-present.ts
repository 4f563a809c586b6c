import { iso } from '../http/schemas.js';
import type { AttemptRow, DeliveryRow, EndpointRow, SecretRow } from './endpoints-repo.js';

/** An endpoint as the API shows it: never its secret (only the create and rotate answers carry one). */
export interface EndpointObject {
  object: 'event_endpoint';
  id: string;
  workspace_id: string | null;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabled_at: string | null;
  disabled_reason: string | null;
  /** When the previous secret stops signing, during a rotation's overlap; else null. */
  secret_rotation_ends_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface AttemptObject {
  started_at: string;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_excerpt: string | null;
}

export interface DeliveryObject {
  object: 'event_delivery';
  id: string;
  endpoint_id: string;
  event: { id: string; type: string; created_at: string };
  status: DeliveryRow['status'];
  attempts: number;
  /** When the next attempt is due; null once delivered or failed. */
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
  attempt_log?: AttemptObject[];
}

/** The latest end among the secrets still signing beside the current one. */
function rotationEnd(secrets: readonly SecretRow[]): Date | null {
  let end: Date | null = null;
  for (const secret of secrets) if (secret.expires_at && (!end || secret.expires_at > end)) end = secret.expires_at;
  return end;
}

/** `secrets`: the endpoint's secrets that still sign (others are ignored). */
export function presentEndpoint(row: EndpointRow, secrets: ReadonlyArray<SecretRow & { endpoint_id: string }>): EndpointObject {
  return {
    object: 'event_endpoint',
    id: row.id,
    workspace_id: row.workspace_id,
    url: row.url,
    events: row.events,
    description: row.description,
    enabled: row.enabled,
    disabled_at: iso(row.disabled_at),
    disabled_reason: row.disabled_reason,
    secret_rotation_ends_at: iso(rotationEnd(secrets.filter((s) => s.endpoint_id === row.id))),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** `attempts`: given for the answers that show the attempt log (the list and a retry), oldest first. */
export function presentDelivery(row: DeliveryRow, attempts?: readonly AttemptRow[]): DeliveryObject {
  return {
    object: 'event_delivery',
    id: row.id,
    endpoint_id: row.endpoint_id,
    event: { id: row.event_id, type: row.event_type, created_at: row.event_created_at.toISOString() },
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
    last_attempt_at: iso(row.last_attempt_at),
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    delivered_at: iso(row.delivered_at),
    created_at: row.created_at.toISOString(),
    ...(attempts
      ? {
          attempt_log: attempts
            .filter((a) => a.delivery_id === row.id)
            .map((a) => ({ started_at: a.started_at.toISOString(), duration_ms: a.duration_ms, status_code: a.status_code, error: a.error, response_excerpt: a.response_excerpt })),
        }
      : {}),
  };
}
