import type { ApiKeySecretRow } from '../db/schema.js';
import type { KeyWithCreator } from './keys-repo.js';

/** The workspace policy's thresholds the nudges use (PRODUCT.md "Key lifecycle and leak response"). */
export interface ReminderPolicy {
  rotation_reminder_days: number;
  unused_reminder_days: number;
}

export const DEFAULT_REMINDERS: ReminderPolicy = { rotation_reminder_days: 90, unused_reminder_days: 30 };

/** A key's end this close shows "Expires in 3 d". */
export const EXPIRES_SOON_DAYS = 3;

export const NUDGES = ['rotation_due', 'unused', 'expires_soon', 'expired'] as const;
export type Nudge = (typeof NUDGES)[number];

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * What the keys list's badges say about a key (the seeds: "Rotate keys at least every 90 days", "Monitor
 * the 'Last used' column"): its current secret older than the rotation reminder; no call for the unused
 * reminder's days (or never, created that long ago); its end within 3 days; past its end. A revoked key
 * and a canary (never used, by design) have none.
 */
export function keyNudges(
  key: Pick<KeyWithCreator, 'id' | 'revoked_at' | 'expires_at' | 'created_at' | 'last_used_at' | 'canary'>,
  secrets: readonly Pick<ApiKeySecretRow, 'key_id' | 'version' | 'created_at' | 'revoked_at'>[],
  policy: ReminderPolicy,
  now: Date,
): Nudge[] {
  if (key.revoked_at !== null || key.canary) return [];
  const nowMs = now.getTime();
  const nudges: Nudge[] = [];
  const current = secrets.filter((s) => s.key_id === key.id).reduce<(typeof secrets)[number] | undefined>((newest, s) => (newest === undefined || s.version > newest.version ? s : newest), undefined);
  if (current !== undefined && nowMs - current.created_at.getTime() >= policy.rotation_reminder_days * DAY_MS) nudges.push('rotation_due');
  const lastSeen = key.last_used_at ?? key.created_at;
  if (nowMs - lastSeen.getTime() >= policy.unused_reminder_days * DAY_MS) nudges.push('unused');
  if (key.expires_at !== null) {
    const left = key.expires_at.getTime() - nowMs;
    if (left <= 0) nudges.push('expired');
    else if (left <= EXPIRES_SOON_DAYS * DAY_MS) nudges.push('expires_soon');
  }
  return nudges;
}
