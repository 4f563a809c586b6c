import type { Kysely } from 'kysely';
import { runDdl } from './ddl.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runDdl(db, DDL);
}

export async function down(): Promise<void> {
  throw new Error('Latchkey migrations only go forward');
}

/*
 * The audit log of /api/v1 calls.
 * - audit_events: one row per call, partitioned by day so that retention drops whole partitions, at a
 *   cost that does not grow with the table. Rows that arrive for a day with no partition yet land in the
 *   default partition (retention deletes from it). The key is (created_at, id): a partitioned table's
 *   key must hold the partition column; ids are time-sortable, so `id` alone orders and pages.
 * - audit_payloads: the redacted query and body, kept AUDIT_PAYLOAD_DAYS, partitioned the same way.
 * - audit_usage_hourly and audit_ip_daily: rollups the batch writer keeps, so that a key's 30-day usage
 *   and the anomaly scans read a few thousand rows, not millions of events.
 */
const DDL = `
    create table audit_events (
      id text not null,
      created_at timestamptz not null,
      workspace_id text,
      mode text,
      key_id text,
      key_name text,
      secret_id text,
      secret_version integer,
      method text not null,
      route text,
      path text not null,
      status integer not null,
      latency_ms real not null,
      source_ip text not null,
      user_agent text,
      request_id text not null,
      error_code text,
      scope text,
      argument_hash text not null,
      primary key (created_at, id)
    ) partition by range (created_at);
    create table audit_events_default partition of audit_events default;
    create index audit_events_workspace on audit_events (workspace_id, id desc);
    create index audit_events_key on audit_events (key_id, id desc);

    create table audit_payloads (
      event_id text not null,
      created_at timestamptz not null,
      payload jsonb not null,
      primary key (created_at, event_id)
    ) partition by range (created_at);
    create table audit_payloads_default partition of audit_payloads default;

    create table audit_usage_hourly (
      workspace_id text not null,
      key_id text not null,
      hour timestamptz not null,
      route text not null,
      status integer not null,
      error_code text not null,
      scope_used text not null,
      requests integer not null,
      primary key (key_id, hour, route, status, error_code, scope_used)
    );
    create index audit_usage_hourly_workspace on audit_usage_hourly (workspace_id, hour);
    create index audit_usage_hourly_hour on audit_usage_hourly (hour);

    create table audit_ip_daily (
      workspace_id text not null,
      key_id text not null,
      day date not null,
      source_ip text not null,
      first_seen timestamptz not null,
      last_seen timestamptz not null,
      requests integer not null,
      primary key (key_id, day, source_ip)
    );
    create index audit_ip_daily_workspace on audit_ip_daily (workspace_id, day);
    create index audit_ip_daily_day on audit_ip_daily (day);
    create index management_events_actor on management_events (actor_user_id, id desc);
`;
