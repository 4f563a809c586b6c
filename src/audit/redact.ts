import { RANDOM_LENGTH } from '../keys/key-format.js';

export const REDACTED = '[REDACTED]';

/** 24 of the 30 random characters still hold 143 bits: a fragment that long is a secret too. */
const MIN_SECRET_CHARS = RANDOM_LENGTH - 6;

/**
 * Anything shaped like one of our keys, whatever the brand: `{brand}_{live|test|svc|ems}_` then base62. No word
 * boundaries, since `_` and letters are word characters: a key glued to other text (`key_<key>`,
 * `<key>_old`, `<key>x`) must be caught too. From 24 characters on rather than a whole key's 36 (random
 * part and checksum): a key cut short by a slice or a typo still carries most of its random bits, and
 * glued base62 after a key is taken with it. A webhook endpoint's signing secret (`whsec_` and base64url)
 * is caught the same way. Compiled once.
 */
const KEY_SHAPE = new RegExp(`[a-z][a-z0-9]{0,11}_(?:live|test|svc|ems)_[0-9A-Za-z]{${MIN_SECRET_CHARS},}|whsec_[0-9A-Za-z_-]{${MIN_SECRET_CHARS},}`, 'g');

/** Every key has one of these; text without any (most paths, user agents, values) skips the regex. */
function mayHoldKey(text: string): boolean {
  return text.includes('_live_') || text.includes('_test_') || text.includes('_svc_') || text.includes('_ems_') || text.includes('whsec_');
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The text with every key-shaped string replaced: the one rule for everything stored or logged (paths,
 * user agents, payload names and values, log urls and error messages). A key hidden behind %-escapes
 * (`lk_live_%41…` in a raw path) is found in the decoded text, which is then what is kept.
 */
export function redactSecrets(text: string): string {
  const plain = mayHoldKey(text) ? text.replace(KEY_SHAPE, REDACTED) : text;
  if (!plain.includes('%')) return plain;
  const unescaped = decoded(plain);
  if (unescaped === plain || !mayHoldKey(unescaped)) return plain;
  const redacted = unescaped.replace(KEY_SHAPE, REDACTED);
  return redacted === unescaped ? plain : redacted;
}

/** Field names that hold credentials, whatever their case or separators (apiKey, api-key, X_API_KEY…). */
const SECRET_FIELD = /authorization|password|passwd|secret|token|api_?key|credential|cookie/i;

/** Payloads are kept for the search, not as an archive: beyond this, only their size is kept. */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

/**
 * PostgreSQL's jsonb can hold neither NUL nor a lone surrogate, and one such string (`?%00=1`, a JSON
 * body's "\u0000") would fail the insert of its whole batch of events, again at every retry.
 */
function storable(text: string): string {
  const wellFormed = text.isWellFormed() ? text : text.toWellFormed();
  return wellFormed.includes('\u0000') ? wellFormed.replaceAll('\u0000', '\uFFFD') : wellFormed;
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactSecrets(storable(value));
  if (value === null || typeof value !== 'object') return value;
  if (depth > 32) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  // No prototype, so that a field named `__proto__` (a query parameter may be) is kept as a field.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    out[redactSecrets(storable(key))] = SECRET_FIELD.test(key.replace(/[-\s]/g, '_')) ? REDACTED : redactValue(item, depth + 1);
  }
  return out;
}

/**
 * The payload an admin may read for a few days: query and body with every credential-looking field and
 * every string shaped like one of our keys replaced, and cut to a size bound.
 */
export function redactPayload(payload: { query: Record<string, string[]>; body: unknown }): Record<string, unknown> {
  const redacted = redactValue(payload, 0) as Record<string, unknown>;
  const bytes = Buffer.byteLength(JSON.stringify(redacted));
  if (bytes <= MAX_PAYLOAD_BYTES) return redacted;
  return { truncated: true, bytes, query: redacted.query };
}

/** A URL fit for a log line: key-shaped strings (in the path, and in query names and values) and credential-named query values replaced. */
export function redactUrl(url: string): string {
  const at = url.indexOf('?');
  const path = redactSecrets(at < 0 ? url : url.slice(0, at));
  if (at < 0) return path;
  const params = new URLSearchParams(url.slice(at + 1));
  const safe = [...params].map(([name, value]): [string, string] => [
    redactSecrets(name),
    SECRET_FIELD.test(name.replace(/[-\s]/g, '_')) ? REDACTED : redactSecrets(value),
  ]);
  return `${path}?${new URLSearchParams(safe).toString()}`;
}
