import type { Kysely } from 'kysely';
import { runDdl } from './ddl.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runDdl(db, DDL);
}

export async function down(): Promise<void> {
  throw new Error('Latchkey migrations only go forward');
}

/*
 * Embedded key management (PRODUCT.md "Embedded key management"):
 * - an embed session, minted by a service key for one workspace, one of the SaaS's own users and some
 *   capabilities. It starts as a single-use link (`code_hash`, valid until `code_expires_at`) and becomes a
 *   session when the browser exchanges the code (`token_hash`, `exchanged_at`, `expires_at`). Only SHA-256
 *   hashes of the code and the token are kept. `ended_at` is set when a second use of the link shows it
 *   travelled further than the browser it was meant for.
 * - the management log names the SaaS's user an embedded session acted for (`actor_external_id`, and
 *   `actor_email` when the SaaS gave one), beside the service key that minted the session.
 */
const DDL = `
    create table embed_sessions (
      id text primary key,
      workspace_id text not null references workspaces (id) on delete cascade,
      service_key_id text not null references service_keys (id),
      user_external_id text not null,
      user_email text,
      user_name text,
      capabilities text[] not null,
      return_url text,
      session_ttl_seconds integer not null,
      code_hash text not null unique,
      code_expires_at timestamptz not null,
      created_at timestamptz not null default now(),
      exchanged_at timestamptz,
      token_hash text unique,
      expires_at timestamptz,
      ended_at timestamptz
    );
    alter table management_events add column actor_external_id text
`;
