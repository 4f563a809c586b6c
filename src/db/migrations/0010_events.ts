import type { Kysely } from 'kysely';
import { runDdl } from './ddl.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runDdl(db, DDL);
}

export async function down(): Promise<void> {
  throw new Error('Latchkey migrations only go forward');
}

/*
 * Events out (PRODUCT.md "Events out: signed webhooks"), src/events/:
 * - event_endpoints: where events go. A workspace's own (`audience` workspace), an installation's, which
 *   a service key with events:manage adds and which receive every workspace's events (installation, no
 *   workspace), and the reference product's `/api/v1/webhooks` (product, one view: workspace and mode).
 *   An endpoint that keeps failing is disabled (`disabled_at`, `disabled_reason`), never deleted.
 * - event_endpoint_secrets: the signing secrets (`whsec_…`). HMAC needs the secret itself, so it is kept
 *   as the gateway's signing key is, and shown to a person once. Rotation adds a secret and gives the
 *   old one `expires_at` 24 h ahead: until then both sign every delivery.
 * - events: the outbox. Written in the transaction of the change that causes it; `body` is the JSON
 *   delivered, byte for byte, so every delivery and every retry of one event carries the same bytes.
 * - event_deliveries: one event to one endpoint, fanned out in the same transaction. Workers on every
 *   instance claim due rows with FOR UPDATE SKIP LOCKED and lease them (`next_attempt_at` moved past the
 *   attempt), so one instance at a time delivers each; a crash leaves the lease to expire and the row is
 *   tried again (at least once).
 * - event_delivery_attempts: each try, with its status or error and a bounded excerpt of the answer.
 * - anomaly_findings: what the detector found, once each (`fingerprint` unique), with its evidence, until
 *   acknowledged or resolved.
 * - key_reminders: which lifecycle event (expiring 7 d, expiring 1 d, expired, rotation due, unused) the
 *   daily sweep already sent for a key, so it is sent once per key and threshold.
 */
const DDL = `
    create table event_endpoints (
      id text primary key,
      audience text not null check (audience in ('workspace', 'installation', 'product')),
      workspace_id text references workspaces (id) on delete cascade,
      mode text check (mode in ('live', 'test')),
      service_key_id text references service_keys (id),
      url text not null,
      events text[] not null,
      description text,
      enabled boolean not null default true,
      disabled_at timestamptz,
      disabled_reason text,
      created_by text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check ((audience = 'installation') = (workspace_id is null)),
      check ((audience = 'product') = (mode is not null))
    );
    create index event_endpoints_workspace on event_endpoints (workspace_id, created_at desc) where workspace_id is not null;
    create table event_endpoint_secrets (
      id text primary key,
      endpoint_id text not null references event_endpoints (id) on delete cascade,
      secret text not null,
      created_at timestamptz not null default now(),
      expires_at timestamptz
    );
    create index event_endpoint_secrets_endpoint on event_endpoint_secrets (endpoint_id);
    create table events (
      id text primary key,
      type text not null,
      workspace_id text references workspaces (id) on delete cascade,
      mode text check (mode in ('live', 'test')),
      body text not null,
      created_at timestamptz not null default now()
    );
    create index events_workspace on events (workspace_id, created_at desc);
    create table event_deliveries (
      id text primary key,
      event_id text not null references events (id) on delete cascade,
      endpoint_id text not null references event_endpoints (id) on delete cascade,
      status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      last_attempt_at timestamptz,
      last_status_code integer,
      last_error text,
      delivered_at timestamptz,
      created_at timestamptz not null default now(),
      unique (event_id, endpoint_id)
    );
    create index event_deliveries_due on event_deliveries (next_attempt_at) where status = 'pending';
    create index event_deliveries_endpoint on event_deliveries (endpoint_id, created_at desc);
    create table event_delivery_attempts (
      id text primary key,
      delivery_id text not null references event_deliveries (id) on delete cascade,
      started_at timestamptz not null,
      duration_ms integer not null,
      status_code integer,
      error text,
      response_excerpt text
    );
    create index event_delivery_attempts_delivery on event_delivery_attempts (delivery_id, started_at);
    create table anomaly_findings (
      id text primary key,
      workspace_id text not null references workspaces (id) on delete cascade,
      api_key_id text references api_keys (id) on delete cascade,
      rule text not null,
      severity text not null check (severity in ('low', 'medium', 'high')),
      fingerprint text not null unique,
      summary text not null,
      evidence jsonb not null,
      status text not null default 'open' check (status in ('open', 'acknowledged', 'resolved')),
      window_start timestamptz not null,
      window_end timestamptz not null,
      detected_at timestamptz not null default now(),
      acknowledged_at timestamptz,
      acknowledged_by text,
      resolved_at timestamptz,
      resolved_by text
    );
    create index anomaly_findings_workspace on anomaly_findings (workspace_id, status, detected_at desc);
    create table key_reminders (
      api_key_id text not null references api_keys (id) on delete cascade,
      kind text not null,
      sent_at timestamptz not null default now(),
      primary key (api_key_id, kind)
    )
`;
