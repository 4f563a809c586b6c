/** Pure decisions about a key's secret versions; the service applies them in one transaction. */

export type SecretState = 'active' | 'expiring' | 'expired' | 'revoked';

export interface SecretTimes {
  id: string;
  version: number;
  expires_at: Date | null;
  revoked_at: Date | null;
}

export const DEFAULT_OVERLAP_SECONDS = 86_400;
export const MAX_OVERLAP_SECONDS = 7 * 86_400;

/** A revoked version is dead whatever its expiry; an expiring one works until `expires_at`. */
export function secretState(secret: Pick<SecretTimes, 'expires_at' | 'revoked_at'>, now: Date): SecretState {
  if (secret.revoked_at) return 'revoked';
  if (secret.expires_at === null) return 'active';
  return secret.expires_at.getTime() > now.getTime() ? 'expiring' : 'expired';
}

export interface RotationPlan {
  version: number;
  /** Versions whose expiry changes, and to when. */
  expire: Array<{ id: string; at: Date }>;
}

/**
 * Rotation adds a version and gives the current one `overlapSeconds` more to live. At most two versions
 * are usable at once, so any older version still in an earlier overlap ends now.
 */
export function planRotation(secrets: readonly SecretTimes[], now: Date, overlapSeconds: number): RotationPlan {
  const usable = secrets
    .filter((s) => {
      const state = secretState(s, now);
      return state === 'active' || state === 'expiring';
    })
    .sort((a, b) => b.version - a.version);
  const [current, ...older] = usable;
  const expire: RotationPlan['expire'] = older.map((s) => ({ id: s.id, at: now }));
  if (current) {
    const overlapEnd = new Date(now.getTime() + overlapSeconds * 1000);
    // A version already expiring sooner keeps its earlier end: rotation never extends a secret's life.
    const at = current.expires_at && current.expires_at < overlapEnd ? current.expires_at : overlapEnd;
    expire.unshift({ id: current.id, at });
  }
  const version = Math.max(0, ...secrets.map((s) => s.version)) + 1;
  return { version, expire };
}

/** The newest version is the key's current secret; it can only end by rotating or revoking the key. */
export function isCurrentSecret(secrets: readonly SecretTimes[], secretId: string): boolean {
  const newest = secrets.reduce<SecretTimes | undefined>((a, b) => (a && a.version > b.version ? a : b), undefined);
  return newest?.id === secretId;
}
