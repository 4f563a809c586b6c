import { iso } from '../http/schemas.js';
import type { AuditEventListRow, ManagementEventRow } from './audit-search-repo.js';

/** The audit event object of the management API: the same in the search, the detail and the NDJSON export. */
export function presentAuditEvent(row: AuditEventListRow) {
  return {
    id: row.id,
    object: 'audit_event' as const,
    created_at: iso(row.created_at),
    mode: row.mode,
    // The key's name and secret version as they were at the time of the call, not as they are now.
    key: row.key_id === null ? null : { id: row.key_id, name: row.key_name, secret_version: row.secret_version },
    method: row.method,
    route: row.route,
    path: row.path,
    status: row.status,
    latency_ms: row.latency_ms,
    // Gateway calls: the part of latency_ms the upstream took to answer.
    upstream_ms: row.upstream_ms,
    source_ip: row.source_ip,
    user_agent: row.user_agent,
    request_id: row.request_id,
    error_code: row.error_code,
    scope: row.scope,
    argument_hash: row.argument_hash,
  };
}

export type AuditEventObject = ReturnType<typeof presentAuditEvent>;

/** Who did what to which key, when and from where. */
export function presentManagementEvent(row: ManagementEventRow) {
  return {
    id: row.id,
    object: 'management_event' as const,
    created_at: iso(row.created_at),
    action: row.action,
    actor: presentActor(row),
    on_behalf_of: row.on_behalf_of,
    target: row.target_type === null || row.target_id === null ? null : { type: row.target_type, id: row.target_id },
    source_ip: row.source_ip,
    user_agent: row.user_agent,
    request_id: row.request_id,
    details: row.details,
  };
}

/**
 * A person (by id and email), the SaaS's own user in an embedded session (by the SaaS's id, through the
 * service key that minted the session), a service key (by id), or null for the operator's CLI.
 */
function presentActor(row: ManagementEventRow) {
  if (row.actor_user_id !== null) return { type: 'user' as const, id: row.actor_user_id, email: row.actor_email };
  if (row.actor_external_id !== null) {
    return { type: 'external_user' as const, external_id: row.actor_external_id, email: row.actor_email, service_key_id: row.actor_service_key_id };
  }
  if (row.actor_service_key_id !== null) return { type: 'service_key' as const, id: row.actor_service_key_id, email: null };
  return null;
}
