import type { AccountsRepo } from '../accounts/accounts-repo.js';
import { actorId, recordManagementEvent, type ActionContext, type ActorContext } from '../audit/management-log.js';
import type { Db, Tx } from '../db/client.js';
import type { Mode } from '../db/schema.js';
import { AppError, notFound } from '../http/errors.js';
import { fetchSize, toPage, type PageRequest } from '../http/pagination.js';
import { newId } from '../ids.js';
import { displayPrefix, generateSecret, hashSecret } from './key-format.js';
import { checkExpiry, checkMeta } from './key-meta.js';
import { checkAllowlist, checkRateLimit, checkScopes, fitToCeiling, mergeRateLimit, sameRateLimit, type Ceiling, type RateLimit, type ScopeCatalog } from './key-settings.js';
import type { KeyChanges, KeysRepo, KeyStatusFilter, KeyWithCreator } from './keys-repo.js';
import { presentKey, type ApiKeyObject } from './keys-present.js';
import { isCurrentSecret, planRotation } from './lifecycle.js';

export interface KeysDeps {
  db: Db;
  /** Told after every committed change to a key, so that caches everywhere forget it. */
  onKeyChanged: (keyId: string) => Promise<void>;
  repo: KeysRepo;
  workspaces: Pick<AccountsRepo, 'setCeiling'>;
  keyPrefix: string;
  /** The deployment's scope catalog (the product file's, or the reference product's). */
  catalog: ScopeCatalog;
  defaultRateLimitPerMinute: number;
  now: () => Date;
}

export interface CreateKeyInput {
  name: string;
  mode: Mode;
  scopes: string[];
  rate_limit?: Partial<RateLimit> | undefined;
  ip_allowlist?: string[] | undefined;
  meta?: Record<string, unknown> | undefined;
  /** ISO date-time, or null for none. */
  expires_at?: string | null | undefined;
}

export interface UpdateKeyInput {
  name?: string | undefined;
  scopes?: string[] | undefined;
  rate_limit?: Partial<RateLimit> | undefined;
  ip_allowlist?: string[] | undefined;
  meta?: Record<string, unknown> | undefined;
  expires_at?: string | null | undefined;
}

type Actor = ActorContext;

export type KeyWithSecret = ApiKeyObject & { secret: string };

/** A ceiling set, and the keys it brought within it (none when it was raised). */
export interface CeilingChange {
  ceiling: Ceiling;
  fitted: Array<{ id: string; name: string; from: RateLimit; to: RateLimit }>;
}

export function createKeysService(deps: KeysDeps) {
  const { db, repo } = deps;

  /** Read inside the transaction that writes the key's limits, and held until it ends (see ceilingForShare). */
  async function ceilingOf(tx: Tx, workspaceId: string): Promise<Ceiling> {
    const ceiling = await repo.ceilingForShare(tx, workspaceId);
    if (!ceiling) throw notFound('workspace');
    return ceiling;
  }

  async function present(tx: Tx | Db, key: KeyWithCreator): Promise<ApiKeyObject> {
    // One after another: inside a transaction the queries share one connection.
    const secrets = await repo.listSecrets(tx, [key.id]);
    const context = { policy: await repo.remindersOf(tx, key.workspace_id), leaks: await repo.listLeaks(tx, [key.id]) };
    return presentKey(key, secrets, deps.now(), deps.catalog, context);
  }

  async function loadKey(tx: Tx | Db, workspaceId: string, keyId: string, forUpdate = false): Promise<KeyWithCreator> {
    const key = await repo.findKey(tx, workspaceId, keyId, { forUpdate });
    if (!key) throw notFound('API key');
    return key;
  }

  function refuseIfRevoked(key: KeyWithCreator): void {
    if (key.revoked_at) {
      throw new AppError('conflict', `The key "${key.name}" is revoked; a revoked key cannot be changed or restored. Create a new key instead.`);
    }
  }

  /**
   * A change to an existing key: committed first, then announced, so that a cache that reloads the key
   * after hearing of the change reads the committed state.
   */
  async function mutate<T>(keyId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
    const result = await db.transaction().execute(work);
    await deps.onKeyChanged(keyId);
    return result;
  }

  /** Makes a secret version: only its hash and display prefix are kept; the plaintext goes back to the caller once. */
  function issueSecret(keyId: string, mode: Mode, version: number) {
    const secret = generateSecret(deps.keyPrefix, mode);
    const row = { id: newId('sec'), key_id: keyId, version, secret_hash: hashSecret(secret), prefix: displayPrefix(secret) };
    return { secret, row };
  }

  /** `callingSecretId`: the secret a self-rotation came with, which must be the current one; null from a person. */
  async function rotate(workspaceId: string, keyId: string, overlapSeconds: number, context: ActionContext, callingSecretId: string | null): Promise<KeyWithSecret> {
    return mutate(keyId, async (tx) => {
      // The row lock makes concurrent rotations of one key take turns, so each sees the other's versions
      // (and of two self-rotations with one secret, the second finds it no longer current).
      const key = await loadKey(tx, workspaceId, keyId, true);
      refuseIfRevoked(key);
      const now = deps.now();
      const secrets = await repo.listSecrets(tx, [keyId]);
      if (callingSecretId !== null && !isCurrentSecret(secrets, callingSecretId)) {
        throw new AppError(
          'not_current_secret',
          "Only the key's current secret can rotate it; this one is an older version, kept working only until its overlap ends. Call with the current secret, or rotate the key from the console.",
        );
      }
      const plan = planRotation(secrets, now, overlapSeconds);
      for (const { id, at } of plan.expire) await repo.setSecretExpiry(tx, id, at);
      const { secret, row } = issueSecret(keyId, key.mode, plan.version);
      await repo.insertSecret(tx, row);
      await repo.updateKey(tx, keyId, { prefix: row.prefix });
      const rotated = await present(tx, await loadKey(tx, workspaceId, keyId));
      await recordManagementEvent(tx, context, {
        workspaceId,
        action: 'api_key.rotate',
        target: { type: 'api_key', id: keyId },
        details: { version: plan.version, secret_id: row.id, overlap_seconds: overlapSeconds, ended: plan.expire.map((e) => ({ secret_id: e.id, expires_at: e.at.toISOString() })) },
        event: { type: 'api_key.rotated', data: { object: rotated, version: plan.version, overlap_seconds: overlapSeconds } },
      });
      return { ...rotated, secret };
    });
  }

  return {
    async create(workspaceId: string, input: CreateKeyInput, context: Actor): Promise<KeyWithSecret> {
      const scopes = checkScopes(input.scopes, deps.catalog);
      const ipAllowlist = checkAllowlist(input.ip_allowlist ?? []);
      const meta = checkMeta(input.meta ?? {});
      const expiresAt = checkExpiry(input.expires_at ?? null, deps.now());
      return db.transaction().execute(async (tx) => {
        const ceiling = await ceilingOf(tx, workspaceId);
        const defaults: RateLimit = {
          per_minute: Math.min(deps.defaultRateLimitPerMinute, ceiling.ceiling_per_minute),
          per_hour: null,
        };
        const rateLimit = checkRateLimit(input.rate_limit ? mergeRateLimit({ per_minute: null, per_hour: null }, input.rate_limit) : defaults, ceiling);
        const keyId = newId('key');
        const { secret, row } = issueSecret(keyId, input.mode, 1);
        await repo.insertKey(tx, {
          id: keyId,
          workspace_id: workspaceId,
          name: input.name,
          mode: input.mode,
          prefix: row.prefix,
          scopes,
          rate_limit_per_minute: rateLimit.per_minute,
          rate_limit_per_hour: rateLimit.per_hour,
          ip_allowlist: ipAllowlist,
          meta,
          expires_at: expiresAt,
          created_by: actorId(context),
          created_by_external_id: context.externalUser?.externalId ?? null,
          created_by_external_email: context.externalUser?.email ?? null,
        });
        await repo.insertSecret(tx, row);
        const created = await present(tx, await loadKey(tx, workspaceId, keyId));
        await recordManagementEvent(tx, context, {
          workspaceId,
          action: 'api_key.create',
          target: { type: 'api_key', id: keyId },
          // meta's field names, never its values: the log is read by more people than the key's owner.
          details: {
            name: input.name,
            mode: input.mode,
            scopes,
            rate_limit: rateLimit,
            ip_allowlist: ipAllowlist,
            prefix: row.prefix,
            meta_fields: Object.keys(input.meta ?? {}),
            expires_at: expiresAt?.toISOString() ?? null,
          },
          event: { type: 'api_key.created', data: { object: created } },
        });
        return { ...created, secret };
      });
    },

    async list(workspaceId: string, filter: { status: KeyStatusFilter } & PageRequest) {
      const rows = await repo.listKeys(db, workspaceId, { ...filter, limit: fetchSize(filter) });
      const ids = rows.slice(0, filter.limit).map((k) => k.id);
      const [secrets, policy, leaks] = await Promise.all([repo.listSecrets(db, ids), repo.remindersOf(db, workspaceId), repo.listLeaks(db, ids)]);
      const now = deps.now();
      return toPage(rows, filter, (key) => presentKey(key, secrets, now, deps.catalog, { policy, leaks }));
    },

    async get(workspaceId: string, keyId: string): Promise<ApiKeyObject> {
      return present(db, await loadKey(db, workspaceId, keyId));
    },

    async update(workspaceId: string, keyId: string, input: UpdateKeyInput, context: Actor): Promise<ApiKeyObject> {
      const scopes = input.scopes === undefined ? undefined : checkScopes(input.scopes, deps.catalog);
      const ipAllowlist = input.ip_allowlist === undefined ? undefined : checkAllowlist(input.ip_allowlist);
      const meta = input.meta === undefined ? undefined : checkMeta(input.meta);
      const expiresAt = input.expires_at === undefined ? undefined : checkExpiry(input.expires_at, deps.now());
      return mutate(keyId, async (tx) => {
        // The ceiling before the key: a ceiling being lowered holds the workspace and then locks its keys,
        // so taking them in the other order here could deadlock with it.
        const ceiling = input.rate_limit === undefined ? null : await ceilingOf(tx, workspaceId);
        const key = await loadKey(tx, workspaceId, keyId, true);
        refuseIfRevoked(key);
        const changes: KeyChanges = {};
        if (input.name !== undefined) changes.name = input.name;
        // New scopes replace the catalog's ones; inert scopes (gone from the product file) stay with the key,
        // which could not name them in a PATCH, so that they work again if the file lists them again.
        if (scopes !== undefined) changes.scopes = [...scopes, ...key.scopes.filter((scope) => !deps.catalog.isScope(scope))];
        if (ipAllowlist !== undefined) changes.ip_allowlist = ipAllowlist;
        if (meta !== undefined) changes.meta = meta;
        if (expiresAt !== undefined) changes.expires_at = expiresAt;
        if (input.rate_limit !== undefined && ceiling !== null) {
          const current = { per_minute: key.rate_limit_per_minute, per_hour: key.rate_limit_per_hour };
          const limit = checkRateLimit(mergeRateLimit(current, input.rate_limit), ceiling);
          changes.rate_limit_per_minute = limit.per_minute;
          changes.rate_limit_per_hour = limit.per_hour;
        }
        await repo.updateKey(tx, keyId, changes);
        const updated = await present(tx, await loadKey(tx, workspaceId, keyId));
        await recordManagementEvent(tx, context, {
          workspaceId,
          action: 'api_key.update',
          target: { type: 'api_key', id: keyId },
          // The changed fields' names, and their new values but meta's (see create).
          details: { changed: Object.keys(changes), ...changes, meta: undefined, expires_at: changes.expires_at?.toISOString() ?? changes.expires_at },
          event: { type: 'api_key.updated', data: { object: updated, changed: Object.keys(changes) } },
        });
        return updated;
      });
    },

    /** By a person from the console or the management API. */
    async rotate(workspaceId: string, keyId: string, overlapSeconds: number, context: Actor): Promise<KeyWithSecret> {
      return rotate(workspaceId, keyId, overlapSeconds, context, null);
    },

    /**
     * By the key itself (keys:rotate_self), with the secret it called with. Only the current secret may:
     * an older one still in its overlap (a leaked one, say) would otherwise mint a new secret and start
     * the current one's end, locking the owner out.
     */
    async rotateSelf(workspaceId: string, keyId: string, callingSecretId: string, overlapSeconds: number, context: ActionContext): Promise<KeyWithSecret> {
      return rotate(workspaceId, keyId, overlapSeconds, context, callingSecretId);
    },

    async revokeSecret(workspaceId: string, keyId: string, secretId: string, context: Actor): Promise<ApiKeyObject> {
      return mutate(keyId, async (tx) => {
        const key = await loadKey(tx, workspaceId, keyId, true);
        refuseIfRevoked(key);
        const secrets = await repo.listSecrets(tx, [keyId]);
        const target = secrets.find((s) => s.id === secretId);
        if (!target) throw notFound('secret version');
        if (isCurrentSecret(secrets, secretId)) {
          throw new AppError('conflict', 'This is the key\'s current secret. Rotate the key first, or revoke the whole key.');
        }
        if (!target.revoked_at) {
          await repo.revokeSecret(tx, secretId, deps.now());
          await recordManagementEvent(tx, context, {
            workspaceId,
            action: 'api_key.secret_revoke',
            target: { type: 'api_key_secret', id: secretId },
            details: { key_id: keyId, version: target.version },
            event: { type: 'api_key.secret_revoked', data: { object: await present(tx, await loadKey(tx, workspaceId, keyId)), secret: { id: secretId, version: target.version } } },
          });
        }
        return present(tx, await loadKey(tx, workspaceId, keyId));
      });
    },

    /**
     * The operator sets a workspace's ceiling. Keys above a lowered ceiling are brought within it in the
     * same transaction (fitToCeiling), each change recorded as an update of that key, then announced so
     * that every cache drops it; a raised ceiling changes no key.
     */
    async setCeiling(workspaceId: string, ceiling: Ceiling, context: ActionContext): Promise<CeilingChange> {
      const fitted = await db.transaction().execute(async (tx) => {
        // Updating the row holds it until commit: a key given limits meanwhile waits, then sees this ceiling.
        if (!(await deps.workspaces.setCeiling(tx, workspaceId, ceiling))) throw notFound('workspace');
        const changed: CeilingChange['fitted'] = [];
        for (const key of await repo.listKeysToFit(tx, workspaceId, ceiling)) {
          const from = { per_minute: key.rate_limit_per_minute, per_hour: key.rate_limit_per_hour };
          const to = fitToCeiling(from, ceiling);
          if (!sameRateLimit(from, to)) changed.push({ id: key.id, name: key.name, from, to });
        }
        await recordManagementEvent(tx, context, {
          workspaceId,
          action: 'workspace.ceiling_change',
          target: { type: 'workspace', id: workspaceId },
          details: { ...ceiling, fitted_keys: changed.map((k) => k.id) },
        });
        for (const { id, from, to } of changed) {
          await repo.updateKey(tx, id, { rate_limit_per_minute: to.per_minute, rate_limit_per_hour: to.per_hour });
          await recordManagementEvent(tx, context, {
            workspaceId,
            action: 'api_key.update',
            target: { type: 'api_key', id },
            details: { changed: ['rate_limit'], rate_limit: to, previous_rate_limit: from, reason: 'workspace ceiling lowered' },
            event: { type: 'api_key.updated', data: { object: await present(tx, await loadKey(tx, workspaceId, id)), changed: ['rate_limit'], reason: 'workspace ceiling lowered' } },
          });
        }
        return changed;
      });
      for (const { id } of fitted) await deps.onKeyChanged(id);
      return { ceiling, fitted };
    },

    /** Immediate and permanent: the key and every version die together; revoking again changes nothing. */
    async revoke(workspaceId: string, keyId: string, context: Actor): Promise<ApiKeyObject> {
      return mutate(keyId, async (tx) => {
        const key = await loadKey(tx, workspaceId, keyId, true);
        if (!key.revoked_at) {
          await repo.revokeKey(tx, keyId, deps.now(), actorId(context));
          await recordManagementEvent(tx, context, {
            workspaceId,
            action: 'api_key.revoke',
            target: { type: 'api_key', id: keyId },
            details: { name: key.name, prefix: key.prefix },
            event: { type: 'api_key.revoked', data: { object: await present(tx, await loadKey(tx, workspaceId, keyId)) } },
          });
        }
        return present(tx, await loadKey(tx, workspaceId, keyId));
      });
    },
  };
}

export type KeysService = ReturnType<typeof createKeysService>;
