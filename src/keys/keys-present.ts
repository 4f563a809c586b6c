import type { ApiKeySecretRow, KeyLeaksTable } from '../db/schema.js';
import { iso } from '../http/schemas.js';
import type { Selectable } from 'kysely';
import type { ScopeCatalog } from './key-settings.js';
import type { KeyWithCreator } from './keys-repo.js';
import { secretState } from './lifecycle.js';
import { DEFAULT_REMINDERS, keyNudges, type ReminderPolicy } from './nudges.js';

export type KeyLeakRow = Selectable<KeyLeaksTable>;

/** What a key's presentation needs beyond the key: its workspace's reminders, and the leaks reported of it. */
export interface KeyContext {
  policy: ReminderPolicy;
  /** Any keys' leaks, newest first; each key shows its own newest. */
  leaks: readonly KeyLeakRow[];
}

const NO_CONTEXT: KeyContext = { policy: DEFAULT_REMINDERS, leaks: [] };

/**
 * The API key object of PRODUCT.md. It never holds a secret or a hash; `secret` is added once, by create and rotate.
 * `scopes` are the ones the deployment's catalog has; a scope the product file no longer lists is shown apart,
 * in `inert_scopes`: the key keeps it but it grants nothing until the file lists it again.
 */
export function presentKey(key: KeyWithCreator, secrets: readonly ApiKeySecretRow[], now: Date, catalog: ScopeCatalog, context: KeyContext = NO_CONTEXT) {
  const leak = context.leaks.find((l) => l.api_key_id === key.id);
  return {
    id: key.id,
    object: 'api_key' as const,
    name: key.name,
    mode: key.mode,
    prefix: key.prefix,
    scopes: key.scopes.filter((scope) => catalog.isScope(scope)),
    inert_scopes: key.scopes.filter((scope) => !catalog.isScope(scope)),
    rate_limit: { per_minute: key.rate_limit_per_minute, per_hour: key.rate_limit_per_hour },
    ip_allowlist: key.ip_allowlist,
    meta: key.meta,
    expires_at: iso(key.expires_at),
    status: keyStatus(key, now),
    created_at: iso(key.created_at),
    created_by: createdBy(key),
    last_used_at: iso(key.last_used_at),
    last_used_ip: key.last_used_ip,
    revoked_at: iso(key.revoked_at),
    /** Never valid: a use answers as an unknown key does and raises canary.triggered. */
    canary: key.canary,
    /** The newest leak report of one of its secret versions (the console's red banner), or null. */
    leak:
      leak === undefined
        ? null
        : {
            reported_at: iso(leak.reported_at),
            source: leak.source,
            url: leak.url,
            action: leak.action,
            secret_id: leak.secret_id,
            secret_version: secrets.find((s) => s.id === leak.secret_id)?.version ?? null,
          },
    /** The keys list's badges: rotation_due, unused, expires_soon, expired (src/keys/nudges.ts). */
    nudges: keyNudges(key, secrets, context.policy, now),
    secrets: secrets
      .filter((s) => s.key_id === key.id)
      .map((s) => ({
        id: s.id,
        object: 'api_key_secret' as const,
        version: s.version,
        prefix: s.prefix,
        status: secretState(s, now),
        created_at: iso(s.created_at),
        expires_at: iso(s.expires_at),
        revoked_at: iso(s.revoked_at),
        last_used_at: iso(s.last_used_at),
      })),
  };
}

export type ApiKeyObject = ReturnType<typeof presentKey>;

/** Revoked is permanent and wins; past its expires_at a key is expired (a PATCH may give it a later end). */
export function keyStatus(key: Pick<KeyWithCreator, 'revoked_at' | 'expires_at'>, now: Date): 'active' | 'expired' | 'revoked' {
  if (key.revoked_at) return 'revoked';
  if (key.expires_at !== null && key.expires_at.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

/** A person; the SaaS's own user, in an embedded session through a service key; or a service key. */
function createdBy(key: KeyWithCreator) {
  if (key.created_by_service_key === null) return { type: 'user' as const, id: key.created_by, email: key.created_by_email };
  if (key.created_by_external_id !== null) {
    return { type: 'external_user' as const, id: key.created_by, name: key.created_by_service_key, external_id: key.created_by_external_id, email: key.created_by_external_email };
  }
  return { type: 'service_key' as const, id: key.created_by, name: key.created_by_service_key, email: null };
}
