import type { Db } from '../db/client.js';
import { newId } from '../ids.js';
import { displayPrefix, generateServiceSecret, hashSecret, isWellFormedServiceSecret } from '../keys/key-format.js';
import type { Permission } from './permissions.js';

/** A service key that authenticated a management request: who acts, with which permissions, where. */
export interface ServiceKeyCaller {
  id: string;
  name: string;
  permissions: ReadonlySet<Permission>;
  /** null: every workspace; else the only workspaces it may reach. */
  workspaceIds: ReadonlySet<string> | null;
}

/**
 * How long a resolved service key is trusted in memory. A SaaS backend calls verify on every request of
 * its own API, so the service key must not cost a query each time; the price is that a revocation made
 * by the CLI (another process) takes up to this long to reach every instance.
 */
export const SERVICE_KEY_CACHE_MS = 5_000;

export interface ServiceKeyRow {
  id: string;
  name: string;
  prefix: string;
  permissions: string[];
  workspace_ids: string[] | null;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export function createServiceKeys(deps: { db: Db; keyPrefix: string; now?: () => number }) {
  const { db, keyPrefix } = deps;
  const clock = deps.now ?? Date.now;
  const cache = new Map<string, { caller: ServiceKeyCaller | null; until: number }>();

  async function lookup(hash: string): Promise<ServiceKeyCaller | null> {
    const row = await db
      .selectFrom('service_keys')
      .select(['id', 'name', 'permissions', 'workspace_ids'])
      .where('secret_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) return null;
    return Object.freeze({
      id: row.id,
      name: row.name,
      permissions: new Set(row.permissions as Permission[]),
      workspaceIds: row.workspace_ids === null ? null : new Set(row.workspace_ids),
    });
  }

  return {
    /** Whether a Bearer token is meant as a service key of this installation (its brand and `_svc_`). */
    looksLikeServiceKey(token: string): boolean {
      return token.startsWith(`${keyPrefix}_svc_`);
    },

    /** The service key a secret belongs to, or null (malformed, unknown or revoked). Cached briefly, unknowns too. */
    async resolve(secret: string): Promise<ServiceKeyCaller | null> {
      if (!isWellFormedServiceSecret(secret, keyPrefix)) return null;
      const hash = hashSecret(secret);
      const now = clock();
      const hit = cache.get(hash);
      if (hit && hit.until > now) return hit.caller;
      const caller = await lookup(hash);
      // "Last used", as precise as the cache: written when a key is looked up again, at most every 5 s per
      // instance while it is in use. Not awaited, and a failure only leaves the time older.
      if (caller) void db.updateTable('service_keys').set({ last_used_at: new Date(now) }).where('id', '=', caller.id).execute().catch(() => undefined);
      if (cache.size >= 10_000) cache.delete(cache.keys().next().value as string);
      cache.set(hash, { caller, until: now + SERVICE_KEY_CACHE_MS });
      return caller;
    },

    /** The secret is returned here once and never again; only its hash is stored. */
    async create(input: { name: string; permissions: Permission[]; workspaceIds: string[] | null }): Promise<{ serviceKey: ServiceKeyRow; secret: string }> {
      const secret = generateServiceSecret(keyPrefix);
      const serviceKey = await db
        .insertInto('service_keys')
        .values({
          id: newId('svk'),
          name: input.name,
          prefix: displayPrefix(secret),
          secret_hash: hashSecret(secret),
          permissions: [...new Set(input.permissions)],
          workspace_ids: input.workspaceIds === null ? null : [...new Set(input.workspaceIds)],
          revoked_at: null,
          last_used_at: null,
        })
        .returning(['id', 'name', 'prefix', 'permissions', 'workspace_ids', 'created_at', 'revoked_at', 'last_used_at'])
        .executeTakeFirstOrThrow();
      return { serviceKey, secret };
    },

    list(): Promise<ServiceKeyRow[]> {
      return db
        .selectFrom('service_keys')
        .select(['id', 'name', 'prefix', 'permissions', 'workspace_ids', 'created_at', 'revoked_at', 'last_used_at'])
        .orderBy('created_at')
        .orderBy('id')
        .execute();
    },

    /** True when the key was active and is now revoked; false when there is no such active key. */
    async revoke(id: string): Promise<boolean> {
      const result = await db
        .updateTable('service_keys')
        .set({ revoked_at: new Date(clock()) })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      cache.clear();
      return result.numUpdatedRows > 0n;
    },
  };
}

export type ServiceKeys = ReturnType<typeof createServiceKeys>;
