import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type CreatedAt = ColumnType<Date, Date | undefined, never>;

export type Role = 'owner' | 'admin' | 'member';
export type Mode = 'live' | 'test';

export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  created_at: CreatedAt;
}

export interface WorkspacesTable {
  id: string;
  name: string;
  ceiling_per_minute: number;
  ceiling_per_hour: number;
  /** The SaaS's own id for this customer; unique in the installation when set. */
  external_id: ColumnType<string | null, string | null | undefined, string | null>;
  metadata: ColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: CreatedAt;
  /** The workspace's key policy (PRODUCT.md "Key lifecycle and leak response"); null: no longest life. */
  max_key_lifetime_days: ColumnType<number | null, number | null | undefined, number | null>;
  require_expiry: Generated<boolean>;
  require_ip_allowlist_for_live: Generated<boolean>;
  rotation_reminder_days: Generated<number>;
  unused_reminder_days: Generated<number>;
  leak_action: Generated<LeakAction>;
}

/** What a leak report does to the reported secret version: revoke it at once, or only tell. */
export type LeakAction = 'revoke' | 'notify';

export interface MembershipsTable {
  workspace_id: string;
  user_id: string;
  role: Role;
  created_at: CreatedAt;
}

export interface SessionsTable {
  /** SHA-256 of the cookie's token: a stolen database cannot sign anyone in. */
  token_hash: string;
  id: string;
  user_id: string;
  created_at: CreatedAt;
  expires_at: Date;
}

export interface InvitationsTable {
  id: string;
  workspace_id: string;
  /** Normalized (lower case); the person accepts as this email, whoever opens the link. */
  email: string;
  role: Role;
  /** SHA-256 (hex) of the link's token; the token itself is never stored. */
  token_hash: string;
  invited_by: string;
  created_at: CreatedAt;
  expires_at: Date;
  accepted_at: Date | null;
  accepted_by: string | null;
  revoked_at: Date | null;
}

export interface ApiKeysTable {
  id: string;
  workspace_id: string;
  name: string;
  mode: Mode;
  prefix: string;
  scopes: string[];
  rate_limit_per_minute: number | null;
  rate_limit_per_hour: number | null;
  ip_allowlist: string[];
  created_by: string;
  /** The SaaS's own user who created the key in an embedded session (created_by is then the service key). */
  created_by_external_id: ColumnType<string | null, string | null | undefined, never>;
  created_by_external_email: ColumnType<string | null, string | null | undefined, never>;
  created_at: CreatedAt;
  revoked_at: Date | null;
  revoked_by: string | null;
  last_used_at: Date | null;
  last_used_ip: string | null;
  /** Returned by verify and forwarded by the gateway; never a secret. */
  meta: ColumnType<Record<string, unknown>, string | undefined, string>;
  /** The whole key's end: past it, every secret of the key answers api_key_expired. */
  expires_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Never valid: a use answers as an unknown key does and raises canary.triggered. */
  canary: Generated<boolean>;
}

export interface ApiKeySecretsTable {
  id: string;
  key_id: string;
  version: number;
  /** SHA-256 (hex) of the whole secret; the secret itself is never stored. */
  secret_hash: string;
  prefix: string;
  created_at: CreatedAt;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  last_used_ip: string | null;
}

export interface ManagementEventsTable {
  id: string;
  workspace_id: string | null;
  actor_user_id: string | null;
  actor_email: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  source_ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: ColumnType<Record<string, unknown>, string, string>;
  /** Set when a service key acted (then actor_user_id is null). */
  actor_service_key_id: ColumnType<string | null, string | null | undefined, never>;
  /** The Latchkey-On-Behalf-Of text a service key sent: the SaaS's own user who asked. */
  on_behalf_of: ColumnType<string | null, string | null | undefined, never>;
  /** The SaaS's own user an embedded session acted for (then actor_service_key_id is the key that minted it). */
  actor_external_id: ColumnType<string | null, string | null | undefined, never>;
  created_at: CreatedAt;
}

/** The SaaS backend's credential for the management API (PRODUCT.md "Service keys"). */
export interface ServiceKeysTable {
  id: string;
  name: string;
  prefix: string;
  /** SHA-256 (hex) of the whole secret; the secret itself is never stored. */
  secret_hash: string;
  permissions: string[];
  /** null: every workspace; else the only workspaces the key may reach. */
  workspace_ids: string[] | null;
  created_at: CreatedAt;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/**
 * Every object of the reference product API (src/api): one generic row per object, its fields in `data`.
 * `email` and `external_id` are contacts' upsert keys; `parent_id` ties a trace to its conversation.
 */
export interface ApiRecordsTable {
  id: string;
  workspace_id: string;
  mode: Mode;
  kind: string;
  parent_id: string | null;
  email: string | null;
  external_id: string | null;
  data: ColumnType<Record<string, unknown>, string, string>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface AuditEventsTable {
  id: string;
  created_at: Date;
  workspace_id: string | null;
  mode: Mode | null;
  key_id: string | null;
  key_name: string | null;
  secret_id: string | null;
  secret_version: number | null;
  method: string;
  route: string | null;
  path: string;
  status: number;
  latency_ms: number;
  source_ip: string;
  user_agent: string | null;
  request_id: string;
  error_code: string | null;
  scope: string | null;
  argument_hash: string;
  /** Gateway calls: the part of latency_ms spent waiting on the upstream (its answer's headers); else null. */
  upstream_ms: number | null;
}

export interface AuditPayloadsTable {
  event_id: string;
  created_at: Date;
  payload: ColumnType<Record<string, unknown>, string, string>;
}

export interface AuditUsageHourlyTable {
  workspace_id: string;
  key_id: string;
  hour: Date;
  route: string;
  status: number;
  error_code: string;
  scope_used: string;
  requests: number;
}

export interface AuditIpDailyTable {
  workspace_id: string;
  key_id: string;
  /** A date column: PostgreSQL returns it as text (YYYY-MM-DD), written as an ISO day. */
  day: ColumnType<string, string, string>;
  source_ip: string;
  first_seen: Date;
  last_seen: Date;
  requests: number;
}

/** Calls with no recognised key past their address's failure budget, counted per address, error code and minute. */
export interface AuditUnattributedTable {
  minute: Date;
  source_ip: string;
  error_code: string;
  requests: number;
  sample_path: string;
}

/** The Ed25519 keys that sign Latchkey-Principal (src/gateway/signing-keys.ts). */
export interface GatewaySigningKeysTable {
  /** The key's id in the JWS header and the JWKS: the RFC 7638 thumbprint of its public JWK. */
  kid: string;
  /** PKCS #8 PEM. */
  private_key: string;
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  created_at: CreatedAt;
  /** Published before it signs: upstreams with a cached JWKS have it before its first token. */
  signs_from: Date;
  retired_at: Date | null;
}

/** A link, then a session, of embedded key management (src/embed/embed-sessions.ts). */
export interface EmbedSessionsTable {
  id: string;
  workspace_id: string;
  service_key_id: string;
  user_external_id: string;
  user_email: string | null;
  user_name: string | null;
  capabilities: string[];
  return_url: string | null;
  session_ttl_seconds: number;
  /** SHA-256 of the link's code; the link works once, until code_expires_at. */
  code_hash: string;
  code_expires_at: Date;
  created_at: CreatedAt;
  exchanged_at: Date | null;
  /** SHA-256 of the session's bearer token, from the exchange on. */
  token_hash: string | null;
  expires_at: Date | null;
  /** Set when the link was used a second time: the session it opened ends with it. */
  ended_at: Date | null;
}

/** Where events go (src/events/): a workspace's, an installation's (every workspace), or a reference-product webhook's. */
export interface EventEndpointsTable {
  id: string;
  audience: 'workspace' | 'installation' | 'product';
  workspace_id: string | null;
  /** The reference product's view, for `product` endpoints only. */
  mode: Mode | null;
  /** The service key that added an installation endpoint. */
  service_key_id: string | null;
  url: string;
  events: string[];
  description: string | null;
  enabled: Generated<boolean>;
  disabled_at: Date | null;
  disabled_reason: string | null;
  /** usr_…, svk_…, or an API key's id for a reference-product webhook. */
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** An endpoint's signing secret (`whsec_…`); an old one signs beside the new until `expires_at`. */
export interface EventEndpointSecretsTable {
  id: string;
  endpoint_id: string;
  secret: string;
  created_at: CreatedAt;
  expires_at: Date | null;
}

/** The outbox: one row per event, `body` the exact JSON delivered. */
export interface EventsTable {
  id: string;
  type: string;
  workspace_id: string | null;
  mode: Mode | null;
  body: string;
  created_at: CreatedAt;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface EventDeliveriesTable {
  id: string;
  event_id: string;
  endpoint_id: string;
  status: Generated<DeliveryStatus>;
  attempts: Generated<number>;
  /** When the next attempt is due; while an attempt runs, the end of its lease. */
  next_attempt_at: Generated<Date>;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: CreatedAt;
}

export interface EventDeliveryAttemptsTable {
  id: string;
  delivery_id: string;
  started_at: Date;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  /** The start of the answer's body (at most 1 KB kept; at most 64 KB read). */
  response_excerpt: string | null;
}

export type FindingStatus = 'open' | 'acknowledged' | 'resolved';

export interface AnomalyFindingsTable {
  id: string;
  workspace_id: string;
  api_key_id: string | null;
  rule: string;
  severity: 'low' | 'medium' | 'high';
  /** Stable per finding (rule, key, what was flagged): the detector stores each finding once. */
  fingerprint: string;
  summary: string;
  evidence: ColumnType<Record<string, unknown>, string, string>;
  status: Generated<FindingStatus>;
  window_start: Date;
  window_end: Date;
  detected_at: CreatedAt;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
}

/** A lifecycle event the daily sweep sent for a key: once per key and kind. */
export interface KeyRemindersTable {
  api_key_id: string;
  kind: string;
  sent_at: CreatedAt;
}

/** A secret version reported leaked: once per version, never the secret itself. */
export interface KeyLeaksTable {
  id: string;
  workspace_id: string;
  api_key_id: string;
  secret_id: string;
  /** `github`: GitHub's secret scanning (POST /v1/leaks/github); `report`: anyone (POST /v1/leaks). */
  source: 'github' | 'report';
  url: string | null;
  /** GitHub's own `source` field (content, commit, pull_request, …). */
  github_source: string | null;
  action: 'revoked' | 'notified';
  reporter_ip: string | null;
  reported_at: CreatedAt;
}

/** A signed GitHub report already received (SHA-256 of its signature and body): a replay is refused. */
export interface LeakReportReceiptsTable {
  digest: string;
  received_at: CreatedAt;
}

export interface MigrationsTable {
  name: string;
  applied_at: Generated<Date>;
}

export interface Database {
  users: UsersTable;
  workspaces: WorkspacesTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  invitations: InvitationsTable;
  api_keys: ApiKeysTable;
  api_key_secrets: ApiKeySecretsTable;
  management_events: ManagementEventsTable;
  service_keys: ServiceKeysTable;
  audit_events: AuditEventsTable;
  audit_payloads: AuditPayloadsTable;
  audit_usage_hourly: AuditUsageHourlyTable;
  audit_ip_daily: AuditIpDailyTable;
  audit_unattributed: AuditUnattributedTable;
  gateway_signing_keys: GatewaySigningKeysTable;
  embed_sessions: EmbedSessionsTable;
  event_endpoints: EventEndpointsTable;
  event_endpoint_secrets: EventEndpointSecretsTable;
  events: EventsTable;
  event_deliveries: EventDeliveriesTable;
  event_delivery_attempts: EventDeliveryAttemptsTable;
  anomaly_findings: AnomalyFindingsTable;
  key_reminders: KeyRemindersTable;
  key_leaks: KeyLeaksTable;
  leak_report_receipts: LeakReportReceiptsTable;
  api_records: ApiRecordsTable;
}

export type User = Selectable<UsersTable>;
export type Workspace = Selectable<WorkspacesTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type ApiKeySecretRow = Selectable<ApiKeySecretsTable>;
export type NewManagementEvent = Insertable<ManagementEventsTable>;
export type ApiRecordRow = Selectable<ApiRecordsTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
