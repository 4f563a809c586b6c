import type { Kysely } from 'kysely';
import { runDdl } from './ddl.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runDdl(db, DDL);
}

export async function down(): Promise<void> {
  throw new Error('Latchkey migrations only go forward');
}

/*
 * The anomaly scan reads the source IPs of calls the IP allowlist refused (usage-repo refusedIpsQuery).
 * Through audit_events_key it read every event of a refused hour to keep the few refused ones: on a busy
 * key 14k events for 200 (bench/scale.ts, 10M events). This partial index holds the refused calls only,
 * so it stays small and the read costs what it returns. Created on the partitioned parent, it is made on
 * every partition, present and future.
 */
const DDL = `
    create index audit_events_ip_refused on audit_events (key_id, id) where error_code = 'ip_not_allowed';
`;
