import type { Kysely } from 'kysely';
import { runDdl } from './ddl.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runDdl(db, DDL);
}

export async function down(): Promise<void> {
  throw new Error('Latchkey migrations only go forward');
}

/*
 * Latchkey for a product's own API (PRODUCT.md, "Latchkey for your own API"):
 * - service keys, the SaaS backend's credential: only the SHA-256 of the secret is kept, as for API keys;
 *   `workspace_ids` null means every workspace, else the only ones it may reach;
 * - a workspace's `external_id` (the SaaS's own id for its customer, unique in the installation) and its
 *   `metadata`;
 * - a key's `meta` (returned by verify, forwarded by the gateway) and `expires_at` (the whole key);
 * - keys are created and revoked by people or by service keys, so `created_by`/`revoked_by` hold an
 *   actor's id (usr_… or svk_…) rather than a user's only;
 * - the management log names a service key as the actor, and the text of Latchkey-On-Behalf-Of.
 */
const DDL = `
    create table service_keys (
      id text primary key,
      name text not null,
      prefix text not null,
      secret_hash text not null unique,
      permissions text[] not null,
      workspace_ids text[],
      created_at timestamptz not null default now(),
      revoked_at timestamptz,
      last_used_at timestamptz
    );
    alter table workspaces add column external_id text;
    alter table workspaces add column metadata jsonb not null default '{}';
    create unique index workspaces_external_id on workspaces (external_id) where external_id is not null;
    alter table api_keys add column meta jsonb not null default '{}';
    alter table api_keys add column expires_at timestamptz;
    alter table api_keys drop constraint if exists api_keys_created_by_fkey;
    alter table api_keys drop constraint if exists api_keys_revoked_by_fkey;
    alter table management_events add column actor_service_key_id text references service_keys (id);
    alter table management_events add column on_behalf_of text
`;
