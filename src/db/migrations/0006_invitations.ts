import type { Kysely } from 'kysely';
import { runDdl } from './ddl.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runDdl(db, DDL);
}

export async function down(): Promise<void> {
  throw new Error('Latchkey migrations only go forward');
}

/*
 * Invitations to a workspace: people join by opening a single-use link, never by being attached by an
 * Admin. Only the SHA-256 of the link's token is kept, as for sessions. An invitation is pending while it
 * is neither accepted nor revoked and its expires_at is ahead; accepting sets accepted_at in the same
 * statement that checks it, so a token serves once. The partial unique index allows one pending
 * invitation per email and workspace (an expired one is revoked when a new one is sent).
 */
const DDL = `
    create table invitations (
      id text primary key,
      workspace_id text not null references workspaces (id),
      email text not null,
      role text not null check (role in ('owner', 'admin', 'member')),
      token_hash text not null unique,
      invited_by text not null references users (id),
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      accepted_at timestamptz,
      accepted_by text references users (id),
      revoked_at timestamptz
    );
    create index invitations_workspace on invitations (workspace_id, id desc);
    create unique index invitations_open on invitations (workspace_id, email) where accepted_at is null and revoked_at is null;
`;
