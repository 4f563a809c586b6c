import { KEY_PATTERN } from '../keys/key-format.js';

export const REDACTED = '[REDACTED]';

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
  if (typeof value === 'string') return storable(value).replace(KEY_PATTERN, REDACTED);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 32) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  // No prototype, so that a field named `__proto__` (a query parameter may be) is kept as a field.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    out[storable(key)] = SECRET_FIELD.test(key.replace(/[-\s]/g, '_')) ? REDACTED : redactValue(item, depth + 1);
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

/** A URL fit for a log line: key-shaped strings and credential-named query values replaced. */
export function redactUrl(url: string): string {
  const at = url.indexOf('?');
  const path = (at < 0 ? url : url.slice(0, at)).replace(KEY_PATTERN, REDACTED);
  if (at < 0) return path;
  const params = new URLSearchParams(url.slice(at + 1));
  const safe = [...params].map(([name, value]): [string, string] => [name, SECRET_FIELD.test(name.replace(/[-\s]/g, '_')) ? REDACTED : value.replace(KEY_PATTERN, REDACTED)]);
  return `${path}?${new URLSearchParams(safe).toString()}`;
}
