import { ApiError } from '../api/client.ts';
import type { ApiKey, KeyInput, KeyMeta, Mode } from '../api/types.ts';

/** A key's settings as the form holds them: text, until they are sent. */
export interface KeyDraft {
  name: string;
  mode: Mode;
  scopes: string[];
  perMinute: string;
  perHour: string;
  allowlist: string;
  /** JSON object text; empty is `{}`. */
  meta: string;
  /** A `datetime-local` value in the browser's time zone; empty is "never". */
  expiresAt: string;
}

/** The API's bound on `meta`, checked here too so that the form says so before sending. */
export const META_MAX_BYTES = 4096;

export const NEW_KEY: KeyDraft = { name: '', mode: 'live', scopes: [], perMinute: '60', perHour: '', allowlist: '', meta: '', expiresAt: '' };

export function draftOf(key: ApiKey): KeyDraft {
  return {
    name: key.name,
    mode: key.mode,
    scopes: [...key.scopes],
    perMinute: key.rate_limit.per_minute === null ? '' : String(key.rate_limit.per_minute),
    perHour: key.rate_limit.per_hour === null ? '' : String(key.rate_limit.per_hour),
    allowlist: key.ip_allowlist.join('\n'),
    meta: Object.keys(key.meta ?? {}).length === 0 ? '' : JSON.stringify(key.meta, null, 2),
    expiresAt: key.expires_at ? localDateTime(key.expires_at) : '',
  };
}

/** An empty limit is "none"; anything else goes to the API as typed, which says what is wrong with it. */
function limit(value: string): number | null {
  const trimmed = value.trim();
  return trimmed === '' ? null : Number(trimmed);
}

/** A mistake the form finds before sending, shaped as the API's own (a field and a message). */
function invalid(param: string, message: string): ApiError {
  return new ApiError(400, 'invalid_request', message, param);
}

/** The metadata text as an object; throws, naming the field, when it is not a JSON object or is over 4 KB. */
export function metaOf(text: string): KeyMeta {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid('meta', 'Metadata must be valid JSON: a JSON object such as {"customer_id": "cus_42"}.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('meta', 'Metadata must be a JSON object such as {"customer_id": "cus_42"}, not a list or a single value.');
  }
  const bytes = new TextEncoder().encode(JSON.stringify(value)).length;
  if (bytes > META_MAX_BYTES) throw invalid('meta', `Metadata can be at most 4 KB; this is ${(bytes / 1024).toFixed(1)} KB.`);
  return value as KeyMeta;
}

/** The expiry as the API takes it: an ISO time, or null for never. */
export function expiresAtOf(text: string): string | null {
  if (text.trim() === '') return null;
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) throw invalid('expires_at', 'The expiry is not a date and time.');
  return time.toISOString();
}

/**
 * What the form sends. Metadata and expiry go only when they differ from `base` (NEW_KEY for a new key,
 * the key's own draft for an edit): a new key without them is sent without them, and an edit that clears
 * the expiry sends null (never).
 */
export function inputOf(draft: KeyDraft, base: KeyDraft): KeyInput {
  const meta = metaOf(draft.meta);
  const expiresAt = expiresAtOf(draft.expiresAt);
  return {
    name: draft.name,
    scopes: draft.scopes,
    rate_limit: { per_minute: limit(draft.perMinute), per_hour: limit(draft.perHour) },
    ip_allowlist: draft.allowlist
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean),
    ...(draft.meta.trim() === base.meta.trim() ? {} : { meta }),
    ...(draft.expiresAt === base.expiresAt ? {} : { expires_at: expiresAt }),
  };
}

/** `2026-12-31T23:59` in the browser's time zone: what a datetime-local input holds. */
function localDateTime(iso: string): string {
  const time = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())}T${pad(time.getHours())}:${pad(time.getMinutes())}`;
}

/** A key past its expiry: every secret is refused, though the key is not revoked. */
export function isExpired(key: Pick<ApiKey, 'expires_at' | 'status'>, now = Date.now()): boolean {
  if (key.status === 'expired') return true;
  return key.status === 'active' && key.expires_at !== null && new Date(key.expires_at).getTime() <= now;
}

/**
 * Who created the key, as a person reads it: an email, or the service key's name. Embedded, a service key is
 * the SaaS's own backend (`product`): its customers do not know the key's name, and need not.
 */
export function createdByText(createdBy: ApiKey['created_by'], product?: string): string {
  if (createdBy.type === 'service_key') return product ?? `service key ${createdBy.name}`;
  return createdBy.email ?? 'unknown';
}

export function rateLimitText(rate: ApiKey['rate_limit']): string {
  const parts = [rate.per_minute === null ? '' : `${rate.per_minute}/min`, rate.per_hour === null ? '' : `${rate.per_hour}/h`];
  return parts.filter(Boolean).join(' · ') || '—';
}
