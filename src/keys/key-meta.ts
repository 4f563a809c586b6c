import { z } from 'zod';
import { invalidRequest } from '../http/errors.js';
import { holdsKey, storableJson } from '../http/schemas.js';

/** A key's `meta` serialised (UTF-8 JSON) may be at most this long (PRODUCT.md: object ≤ 4 KB). */
export const MAX_META_BYTES = 4096;

/**
 * The shape the routes accept: a JSON object. Its size and content are checked by checkMeta, which can
 * name the rule; the management body limit (64 KB) bounds what reaches it.
 */
export const metaSchema = z.record(z.string(), z.unknown());

/** An ISO 8601 date-time with an offset (`2027-01-01T00:00:00Z`), or null for no end. */
export const expiresAtSchema = z.iso.datetime({ offset: true }).nullable();

/**
 * `meta` travels to every verify answer and every upstream behind the gateway, so it must never hold a
 * secret: a string shaped like one of our keys (the audit log's own rule, holdsKey) is refused, and it is
 * refused whole, not redacted, so that what is stored is what the caller sent. Returns it as JSON text.
 */
export function checkMeta(meta: Record<string, unknown>): string {
  const json = JSON.stringify(meta);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_META_BYTES) throw invalidRequest('meta', `meta is ${bytes} bytes as JSON; it may be at most ${MAX_META_BYTES}.`);
  if (!storableJson(meta)) throw invalidRequest('meta', 'meta must not contain NUL characters or invalid Unicode.');
  // The JSON text holds every field name and value as it is (a key's characters need no escaping).
  if (holdsKey(json)) {
    throw invalidRequest('meta', 'meta holds something shaped like a Latchkey key. meta is returned by verify and forwarded upstream: never put a secret in it.');
  }
  return json;
}

/** A key's end must be in the future when it is set; null clears it. */
export function checkExpiry(expiresAt: string | null, now: Date): Date | null {
  if (expiresAt === null) return null;
  const at = new Date(expiresAt);
  if (!(at.getTime() > now.getTime())) throw invalidRequest('expires_at', `expires_at must be in the future (it is now ${now.toISOString()}); send null for a key that does not expire.`);
  return at;
}
