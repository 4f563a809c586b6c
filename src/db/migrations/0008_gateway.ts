import type { Kysely } from 'kysely';
import { runDdl } from './ddl.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runDdl(db, DDL);
}

export async function down(): Promise<void> {
  throw new Error('Latchkey migrations only go forward');
}

/*
 * Gateway mode (PRODUCT.md "Gateway mode"):
 * - the Ed25519 keys that sign `Latchkey-Principal`: generated on first start (or rotated by the CLI) and
 *   kept here so that every instance signs with the same key and publishes the same JWKS. A key is
 *   published from `created_at` and signs only from `signs_from`, later, so that upstreams holding a
 *   cached JWKS have fetched it before the first token they must check; `retired_at` ends its publication.
 * - an audited call's time spent waiting on the upstream (`upstream_ms`), beside its total latency; null
 *   for everything that was not proxied.
 */
const DDL = `
    create table gateway_signing_keys (
      kid text primary key,
      private_key text not null,
      public_jwk jsonb not null,
      created_at timestamptz not null default now(),
      signs_from timestamptz not null,
      retired_at timestamptz
    );
    alter table audit_events add column upstream_ms real
`;
