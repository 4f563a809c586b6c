import type { Kysely } from 'kysely';
import { runDdl } from './ddl.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runDdl(db, DDL);
}

const DDL = `
    create table users (
      id text primary key,
      email text not null unique,
      password_hash text not null,
      created_at timestamptz not null default now()
    );

    create table workspaces (
      id text primary key,
      name text not null,
      ceiling_per_minute integer not null check (ceiling_per_minute > 0),
      ceiling_per_hour integer not null check (ceiling_per_hour > 0),
      created_at timestamptz not null default now()
    );

    create table memberships (
      workspace_id text not null references workspaces (id),
      user_id text not null references users (id),
      role text not null check (role in ('owner', 'admin', 'member')),
      created_at timestamptz not null default now(),
      primary key (workspace_id, user_id)
    );
    create index memberships_user on memberships (user_id);

    create table sessions (
      token_hash text primary key,
      id text not null unique,
      user_id text not null references users (id),
      created_at timestamptz not null default now(),
      expires_at timestamptz not null
    );
    create index sessions_user on sessions (user_id);

    create table api_keys (
      id text primary key,
      workspace_id text not null references workspaces (id),
      name text not null,
      mode text not null check (mode in ('live', 'test')),
      prefix text not null,
      scopes text[] not null,
      rate_limit_per_minute integer check (rate_limit_per_minute > 0),
      rate_limit_per_hour integer check (rate_limit_per_hour > 0),
      ip_allowlist text[] not null default '{}',
      created_by text not null references users (id),
      created_at timestamptz not null default now(),
      revoked_at timestamptz,
      revoked_by text references users (id),
      last_used_at timestamptz,
      last_used_ip text,
      check (rate_limit_per_minute is not null or rate_limit_per_hour is not null)
    );
    create index api_keys_workspace on api_keys (workspace_id, id desc);

    create table api_key_secrets (
      id text primary key,
      key_id text not null references api_keys (id),
      version integer not null,
      secret_hash text not null unique,
      prefix text not null,
      created_at timestamptz not null default now(),
      expires_at timestamptz,
      revoked_at timestamptz,
      last_used_at timestamptz,
      last_used_ip text,
      unique (key_id, version)
    );

    create table management_events (
      id text primary key,
      workspace_id text references workspaces (id),
      actor_user_id text references users (id),
      actor_email text,
      action text not null,
      target_type text,
      target_id text,
      source_ip text,
      user_agent text,
      request_id text,
      details jsonb not null default '{}',
      created_at timestamptz not null default now()
    );
    create index management_events_workspace on management_events (workspace_id, id desc);
`;

export async function down(): Promise<void> {
  throw new Error('Latchkey migrations only go forward');
}
