import type { Kysely } from 'kysely';
import { runDdl } from './ddl.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runDdl(db, DDL);
}

export async function down(): Promise<void> {
  throw new Error('Latchkey migrations only go forward');
}

/*
 * Key lifecycle and leak response (PRODUCT.md "Key lifecycle and leak response"):
 * - workspaces gain their policy: the longest life a key may have (null: no limit), whether an expiry is
 *   required, whether a live key needs an IP allowlist, the reminder thresholds the daily sweep and the
 *   keys list's badges use, and what a leak report does (`revoke` the leaked secret version, or `notify`).
 * - api_keys.canary: a key that is never valid; a use raises canary.triggered (src/leaks/canary.ts).
 * - key_leaks: a secret version reported leaked, once per version (the first report wins; later ones
 *   change nothing), with where it was found and what was done. Never the secret: its version's id.
 * - leak_report_receipts: the SHA-256 of each signed GitHub report (signature and body), so that a
 *   report sent again byte for byte is refused; kept 30 days.
 */
const DDL = `
    alter table workspaces
      add column max_key_lifetime_days integer check (max_key_lifetime_days between 1 and 3650),
      add column require_expiry boolean not null default false,
      add column require_ip_allowlist_for_live boolean not null default false,
      add column rotation_reminder_days integer not null default 90 check (rotation_reminder_days between 1 and 3650),
      add column unused_reminder_days integer not null default 30 check (unused_reminder_days between 1 and 3650),
      add column leak_action text not null default 'revoke' check (leak_action in ('revoke', 'notify'));
    alter table api_keys add column canary boolean not null default false;
    create table key_leaks (
      id text primary key,
      workspace_id text not null references workspaces (id) on delete cascade,
      api_key_id text not null references api_keys (id) on delete cascade,
      secret_id text not null unique references api_key_secrets (id) on delete cascade,
      source text not null check (source in ('github', 'report')),
      url text,
      github_source text,
      action text not null check (action in ('revoked', 'notified')),
      reporter_ip text,
      reported_at timestamptz not null default now()
    );
    create index key_leaks_key on key_leaks (api_key_id, reported_at desc);
    create table leak_report_receipts (
      digest text primary key,
      received_at timestamptz not null default now()
    );
`;
