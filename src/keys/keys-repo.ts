import type { Executor } from '../db/client.js';
import type { Insertable } from 'kysely';
import type { ApiKeyRow, ApiKeySecretRow, ApiKeySecretsTable, ApiKeysTable } from '../db/schema.js';
import type { Ceiling } from './key-settings.js';
import type { KeyLeakRow } from './keys-present.js';
import { DEFAULT_REMINDERS, type ReminderPolicy } from './nudges.js';

export type KeyStatusFilter = 'active' | 'revoked' | 'all';

/** A key with who created it: a person (their email) or a service key (its name). */
export type KeyWithCreator = ApiKeyRow & { created_by_email: string | null; created_by_service_key: string | null };

export type NewKey = Omit<Insertable<ApiKeysTable>, 'created_at' | 'revoked_at' | 'revoked_by' | 'last_used_at' | 'last_used_ip'>;

export type NewSecret = Pick<Insertable<ApiKeySecretsTable>, 'id' | 'key_id' | 'version' | 'secret_hash' | 'prefix'>;

export type KeyChanges = Partial<Pick<ApiKeyRow, 'name' | 'scopes' | 'rate_limit_per_minute' | 'rate_limit_per_hour' | 'ip_allowlist' | 'prefix' | 'expires_at'>> & {
  /** JSON text, as the jsonb column takes it. */
  meta?: string;
};

export function keysWithCreator(ex: Executor) {
  return ex
    .selectFrom('api_keys')
    .leftJoin('users', 'users.id', 'api_keys.created_by')
    .leftJoin('service_keys', 'service_keys.id', 'api_keys.created_by')
    .selectAll('api_keys')
    .select(['users.email as created_by_email', 'service_keys.name as created_by_service_key']);
}

export function createKeysRepo() {
  return {
    /** The hot path's one query: a secret version by its hash, with its key and its workspace's external id. */
    findBySecretHash(ex: Executor, secretHash: string) {
      return ex
        .selectFrom('api_key_secrets as s')
        .innerJoin('api_keys as k', 'k.id', 's.key_id')
        .innerJoin('workspaces as w', 'w.id', 'k.workspace_id')
        .select([
          's.id as secret_id',
          's.version',
          's.prefix as secret_prefix',
          's.expires_at',
          's.revoked_at as secret_revoked_at',
          'k.id as key_id',
          'k.workspace_id',
          'k.name',
          'k.mode',
          'k.scopes',
          'k.rate_limit_per_minute',
          'k.rate_limit_per_hour',
          'k.ip_allowlist',
          'k.revoked_at as key_revoked_at',
          'k.expires_at as key_expires_at',
          'k.meta',
          'w.external_id as workspace_external_id',
        ])
        .where('s.secret_hash', '=', secretHash)
        .executeTakeFirst();
    },

    async insertKey(ex: Executor, key: NewKey): Promise<void> {
      await ex.insertInto('api_keys').values(key).execute();
    },

    async insertSecret(ex: Executor, secret: NewSecret): Promise<void> {
      await ex.insertInto('api_key_secrets').values(secret).execute();
    },

    /** Newest first; `cursor` is the id of the last key of the previous page (ids sort by time). */
    listKeys(ex: Executor, workspaceId: string, filter: { status: KeyStatusFilter; limit: number; cursor?: string | undefined }) {
      let query = keysWithCreator(ex).where('api_keys.workspace_id', '=', workspaceId);
      if (filter.status === 'active') query = query.where('api_keys.revoked_at', 'is', null);
      if (filter.status === 'revoked') query = query.where('api_keys.revoked_at', 'is not', null);
      if (filter.cursor) query = query.where('api_keys.id', '<', filter.cursor);
      return query.orderBy('api_keys.id', 'desc').limit(filter.limit).execute();
    },

    /** One key of one workspace; `forUpdate` holds its row until the transaction ends, to serialize rotations. */
    async findKey(ex: Executor, workspaceId: string, keyId: string, options: { forUpdate?: boolean } = {}): Promise<KeyWithCreator | undefined> {
      let query = keysWithCreator(ex).where('api_keys.workspace_id', '=', workspaceId).where('api_keys.id', '=', keyId);
      if (options.forUpdate) query = query.forUpdate('api_keys');
      return query.executeTakeFirst();
    },

    /**
     * The workspace's rate-limit ceiling, its row share-locked until the transaction ends: a ceiling being
     * lowered (which updates that row) and a key being given limits then take turns, so no key is checked
     * against the old ceiling and written after the lowering has fitted the others.
     */
    ceilingForShare(ex: Executor, workspaceId: string): Promise<Ceiling | undefined> {
      return ex.selectFrom('workspaces').select(['ceiling_per_minute', 'ceiling_per_hour']).where('id', '=', workspaceId).forShare().executeTakeFirst();
    },

    /**
     * The active keys of a workspace that `ceiling` may change, row-locked, by id. fitToCeiling decides;
     * this only spares reading the keys it would leave as they are (60·m > h is m > floor(h / 60)).
     */
    listKeysToFit(ex: Executor, workspaceId: string, ceiling: Ceiling) {
      const minute = 'rate_limit_per_minute';
      const hour = 'rate_limit_per_hour';
      return ex
        .selectFrom('api_keys')
        .select(['id', 'name', minute, hour])
        .where('workspace_id', '=', workspaceId)
        .where('revoked_at', 'is', null)
        .where((eb) =>
          eb.or([
            eb(minute, '>', ceiling.ceiling_per_minute),
            eb(hour, '>', ceiling.ceiling_per_hour),
            eb.and([eb(hour, 'is', null), eb(minute, '>', Math.floor(ceiling.ceiling_per_hour / 60))]),
            eb.and([eb(minute, 'is', null), eb(hour, '>', ceiling.ceiling_per_minute)]),
          ]),
        )
        .orderBy('id')
        .forUpdate()
        .execute();
    },

    async updateKey(ex: Executor, keyId: string, changes: KeyChanges): Promise<void> {
      if (Object.keys(changes).length === 0) return;
      await ex.updateTable('api_keys').set(changes).where('id', '=', keyId).execute();
    },

    async revokeKey(ex: Executor, keyId: string, at: Date, by: string): Promise<void> {
      await ex.updateTable('api_keys').set({ revoked_at: at, revoked_by: by }).where('id', '=', keyId).where('revoked_at', 'is', null).execute();
      await ex.updateTable('api_key_secrets').set({ revoked_at: at }).where('key_id', '=', keyId).where('revoked_at', 'is', null).execute();
    },

    /** Every version of these keys, newest version first. */
    listSecrets(ex: Executor, keyIds: readonly string[]): Promise<ApiKeySecretRow[]> {
      if (keyIds.length === 0) return Promise.resolve([]);
      return ex.selectFrom('api_key_secrets').selectAll().where('key_id', 'in', keyIds).orderBy('version', 'desc').execute();
    },

    async setSecretExpiry(ex: Executor, secretId: string, at: Date): Promise<void> {
      await ex.updateTable('api_key_secrets').set({ expires_at: at }).where('id', '=', secretId).execute();
    },

    /** The workspace's reminder thresholds (its policy's part that the key object's nudges use). */
    async remindersOf(ex: Executor, workspaceId: string): Promise<ReminderPolicy> {
      const row = await ex.selectFrom('workspaces').select(['rotation_reminder_days', 'unused_reminder_days']).where('id', '=', workspaceId).executeTakeFirst();
      return row ?? DEFAULT_REMINDERS;
    },

    /** The leaks reported of these keys' secret versions, newest first. */
    listLeaks(ex: Executor, keyIds: readonly string[]): Promise<KeyLeakRow[]> {
      if (keyIds.length === 0) return Promise.resolve([]);
      return ex.selectFrom('key_leaks').selectAll().where('api_key_id', 'in', keyIds).orderBy('reported_at', 'desc').execute();
    },

    async revokeSecret(ex: Executor, secretId: string, at: Date): Promise<void> {
      await ex.updateTable('api_key_secrets').set({ revoked_at: at }).where('id', '=', secretId).where('revoked_at', 'is', null).execute();
    },
  };
}

export type KeysRepo = ReturnType<typeof createKeysRepo>;
