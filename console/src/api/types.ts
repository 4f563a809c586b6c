/** The management API's objects, as the console reads them (snake_case, as on the wire). */

export type Role = 'owner' | 'admin' | 'member';
export type Mode = 'live' | 'test';

export interface Page<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface WorkspaceOfUser {
  id: string;
  name: string;
  role: Role;
}

export interface Me {
  user: { id: string; email: string; created_at: string | null };
  workspaces: WorkspaceOfUser[];
  csrf_token: string;
}

/** One scope of the deployment's catalog (its product file's, or the reference product's). */
export interface ScopeInfo {
  scope: string;
  group: string;
  description: string;
}

/** The deployment's product, as the shell names it. */
export interface ProductInfo {
  name: string;
  accent_color: string | null;
}

/** What an embedded session may do; the signed-in console's users are governed by their role instead. */
export type Capability = 'keys:read' | 'keys:write' | 'keys:rotate' | 'keys:revoke' | 'usage:read' | 'audit:read';

/** An embedded key-management session, as `POST /v1/embed/exchange` and `GET /v1/embed/session` answer it. */
export interface EmbedSessionInfo {
  object: 'embed_session';
  id: string;
  expires_at: string | null;
  workspace: { id: string; name: string; external_id: string | null };
  user: { external_id: string; email: string | null; name: string | null };
  capabilities: Capability[];
  return_url: string | null;
  product: ProductInfo;
}

/** Who created a key: a person, or a SaaS backend's service key. */
export type CreatedBy =
  | { type: 'user'; id: string | null; email: string | null }
  | { type: 'service_key'; id: string; name: string; email: null }
  /** The SaaS's own user, in embedded key management, through its service key. */
  | { type: 'external_user'; id: string; name: string; external_id: string; email: string | null };

/** A key's free-form metadata (a JSON object of at most 4 KB). */
export type KeyMeta = Record<string, unknown>;

export interface RateLimit {
  per_minute: number | null;
  per_hour: number | null;
}

export interface KeySecret {
  id: string;
  version: number;
  prefix: string;
  status: string;
  created_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface ApiKey {
  id: string;
  object: 'api_key';
  name: string;
  mode: Mode;
  prefix: string;
  scopes: string[];
  /** Scopes the key holds that the product file no longer lists: they grant nothing until it lists them again. */
  inert_scopes?: string[];
  rate_limit: RateLimit;
  ip_allowlist: string[];
  meta: KeyMeta;
  /** Past it, every secret of the key is refused (api_key_expired); null: never. */
  expires_at: string | null;
  /** `expired`: past expires_at (a server may also leave that to the console to tell, from expires_at). */
  status: 'active' | 'revoked' | 'expired';
  created_at: string | null;
  created_by: CreatedBy;
  last_used_at: string | null;
  last_used_ip: string | null;
  revoked_at: string | null;
  /** Never valid: a use answers as an unknown key does and raises canary.triggered. */
  canary: boolean;
  /** The newest leak report of one of its secret versions (the red banner), or null. */
  leak: KeyLeak | null;
  /** The keys list's badges (the workspace policy's thresholds). */
  nudges: KeyNudge[];
  secrets: KeySecret[];
}

export type KeyNudge = 'rotation_due' | 'unused' | 'expires_soon' | 'expired';

export interface KeyLeak {
  reported_at: string;
  /** github: GitHub's secret scanning; report: someone through POST /v1/leaks. */
  source: 'github' | 'report';
  url: string | null;
  /** revoked: the leaked secret version was revoked at once; notified: the policy's leak_action is notify. */
  action: 'revoked' | 'notified';
  secret_id: string;
  secret_version: number | null;
}

export type PolicyRule = 'max_key_lifetime' | 'require_expiry' | 'require_ip_allowlist_for_live';

/** GET/PATCH /v1/workspaces/{id}/policy. */
export interface WorkspacePolicy {
  object: 'workspace_policy';
  workspace_id: string;
  max_key_lifetime_days: number | null;
  require_expiry: boolean;
  require_ip_allowlist_for_live: boolean;
  rotation_reminder_days: number;
  unused_reminder_days: number;
  leak_action: 'revoke' | 'notify';
  /** Active keys that break the policy: listed, never changed. */
  violations: Array<{ key_id: string; name: string; prefix: string; mode: Mode; rules: PolicyRule[] }>;
}

/** Create and rotate answer the key with its secret: the only time it is ever sent. */
export type ApiKeyWithSecret = ApiKey & { secret: string };

export interface KeyInput {
  name?: string;
  mode?: Mode;
  scopes?: string[];
  rate_limit?: RateLimit;
  ip_allowlist?: string[];
  meta?: KeyMeta;
  expires_at?: string | null;
}

export interface StatusCounts {
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
  total: number;
}

export interface Anomaly {
  type: string;
  key: { id: string; name: string };
  severity: 'low' | 'medium' | 'high';
  window: { from: string; to: string };
  summary: string;
  evidence: Record<string, unknown>;
}

export interface KeyUsage {
  key: { id: string; name: string };
  days: number;
  period: { from: string; to: string };
  totals: StatusCounts;
  per_day: Array<{ day: string } & StatusCounts>;
  top_routes: Array<{ route: string; requests: number; errors: number; error_share: number }>;
  source_ips: { count: number; ips: Array<{ ip: string; first_seen: string; last_seen: string; requests: number; new: boolean }> };
  scopes: { granted: string[]; used: Array<{ scope: string; requests: number }>; unused: string[]; hint: string | null };
  anomalies: Anomaly[];
}

export interface AuditEvent {
  id: string;
  created_at: string | null;
  mode: Mode | null;
  key: { id: string; name: string | null; secret_version: number | null } | null;
  method: string;
  route: string | null;
  path: string;
  status: number;
  latency_ms: number;
  upstream_ms: number | null;
  source_ip: string | null;
  user_agent: string | null;
  request_id: string;
  error_code: string | null;
  scope: string | null;
  argument_hash: string | null;
}

export interface AuditEventDetail extends AuditEvent {
  payload: Record<string, unknown> | null;
  payload_expired: boolean;
  payload_expires_at: string | null;
  payload_note: string | null;
}

export interface AuditFilters {
  key_id?: string;
  route?: string;
  status?: string;
  source_ip?: string;
  from?: string;
  to?: string;
}

export interface Member {
  user_id: string;
  email: string;
  role: Role;
  added_at: string | null;
}

/** A pending invitation, as the workspace's Owners and Admins see it. */
export interface Invitation {
  id: string;
  email: string;
  role: Role;
  invited_by: string;
  created_at: string | null;
  expires_at: string | null;
}

/** The answer to an invitation just made: the link is in it this once. */
export interface CreatedInvitation extends Invitation {
  token: string;
  invite_url: string;
}

/** What an invitation link offers, as the person who opened it sees it. */
export interface InvitationView {
  workspace: { id: string; name: string };
  email: string;
  role: Role;
  invited_by: string;
  expires_at: string | null;
  needs_password: boolean;
  signed_in_as: string | null;
}

export interface Joined {
  workspace: { id: string; name: string };
  role: Role;
  user: { id: string; email: string };
  csrf_token?: string;
}

/** A webhook endpoint of the workspace: where its events are sent, signed (never the secret, except on create and rotate). */
export interface EventEndpoint {
  object: 'event_endpoint';
  id: string;
  workspace_id: string | null;
  url: string;
  /** Event types, or ['*'] for every type, including types added later. */
  events: string[];
  description: string | null;
  enabled: boolean;
  /** Set when Latchkey disabled it after failing deliveries (or someone disabled it). */
  disabled_at: string | null;
  disabled_reason: string | null;
  /** Until then the previous secret signs every delivery too. */
  secret_rotation_ends_at: string | null;
  created_at: string | null;
  updated_at: string | null;
}

/** Create and rotate-secret answer with the signing secret: the only time it is sent. */
export type EventEndpointWithSecret = EventEndpoint & { secret: string };

export interface EndpointInput {
  url?: string;
  events?: string[];
  description?: string | null;
  enabled?: boolean;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryAttempt {
  started_at: string;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_excerpt: string | null;
}

/** One event sent (or to be sent) to one endpoint. */
export interface EventDelivery {
  object: 'event_delivery';
  id: string;
  endpoint_id: string;
  event: { id: string; type: string; created_at: string | null };
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string | null;
  /** Oldest first; in the list and retry answers. */
  attempt_log?: DeliveryAttempt[];
}

export type FindingStatus = 'open' | 'acknowledged' | 'resolved';
export type FindingRule = 'volume_spike' | 'new_source_ip' | 'error_burst' | 'ip_refused';

/** An anomaly the detector stored (the usage page's Anomaly is computed on read; this one is kept and has a status). */
export interface Finding {
  object: 'anomaly';
  id: string;
  rule: FindingRule | (string & {});
  severity: 'low' | 'medium' | 'high';
  status: FindingStatus;
  summary: string;
  api_key: { id: string; name: string; prefix: string } | null;
  evidence: Record<string, unknown>;
  window: { start: string; end: string };
  detected_at: string | null;
  acknowledged_at: string | null;
  /** The actor: a user id (usr_…) or a service key id. */
  acknowledged_by: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
}

/** The findings list also says how many are open, whatever the filter (the navigation's badge). */
export interface FindingsPage extends Page<Finding> {
  open_count: number;
}
