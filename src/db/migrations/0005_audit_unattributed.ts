import type { Kysely } from 'kysely';
import { runDdl } from './ddl.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runDdl(db, DDL);
}

export async function down(): Promise<void> {
  throw new Error('Latchkey migrations only go forward');
}

/*
 * Calls that carry no key we recognise (none, malformed, made up) belong to no workspace's log. Up to
 * the source address's failure budget each is an audit event as before; past it (answered 429), they
 * are counted here instead, one row per source address, error code and minute with a sample path, so
 * that a flood without a key costs a row a minute, not a row a request. The audit writer upserts them
 * in its batches; retention trims them with the rollups. The key leads with the minute for that trim.
 */
const DDL = `
    create table audit_unattributed (
      minute timestamptz not null,
      source_ip text not null,
      error_code text not null,
      requests integer not null,
      sample_path text not null,
      primary key (minute, source_ip, error_code)
    );
`;
