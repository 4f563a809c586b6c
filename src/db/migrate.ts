import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { Db } from './client.js';
import * as initial from './migrations/0001_initial.js';
import * as apiRecords from './migrations/0002_api_records.js';
import * as audit from './migrations/0003_audit.js';
import * as auditRefusalsIndex from './migrations/0004_audit_refusals_index.js';
import * as auditUnattributed from './migrations/0005_audit_unattributed.js';
import * as invitations from './migrations/0006_invitations.js';
import * as yourOwnApi from './migrations/0007_your_own_api.js';
import * as gateway from './migrations/0008_gateway.js';
import * as embed from './migrations/0009_embed.js';
import * as events from './migrations/0010_events.js';
import * as lifecycleLeaks from './migrations/0011_lifecycle_leaks.js';

/** Migrations are listed here, not read from disk, so the built and the source trees run the same set. */
const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_api_records': apiRecords,
  '0003_audit': audit,
  '0004_audit_refusals_index': auditRefusalsIndex,
  '0005_audit_unattributed': auditUnattributed,
  '0006_invitations': invitations,
  '0007_your_own_api': yourOwnApi,
  '0008_gateway': gateway,
  '0009_embed': embed,
  '0010_events': events,
  '0011_lifecycle_leaks': lifecycleLeaks,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

export async function migrateToLatest(db: Db): Promise<void> {
  const migrator = new Migrator({ db, provider, migrationTableName: 'latchkey_migrations', migrationLockTableName: 'latchkey_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  if (error || failed) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Migration ${failed?.migrationName ?? "(unknown)"} failed: ${reason}`, { cause: error });
  }
}
