import type { ApiKey, KeyInput, Mode } from '../api/types.ts';

/** A key's settings as the form holds them: text, until they are sent. */
export interface KeyDraft {
  name: string;
  mode: Mode;
  scopes: string[];
  perMinute: string;
  perHour: string;
  allowlist: string;
}

export const NEW_KEY: KeyDraft = { name: '', mode: 'live', scopes: [], perMinute: '60', perHour: '', allowlist: '' };

export function draftOf(key: ApiKey): KeyDraft {
  return {
    name: key.name,
    mode: key.mode,
    scopes: [...key.scopes],
    perMinute: key.rate_limit.per_minute === null ? '' : String(key.rate_limit.per_minute),
    perHour: key.rate_limit.per_hour === null ? '' : String(key.rate_limit.per_hour),
    allowlist: key.ip_allowlist.join('\n'),
  };
}

/** An empty limit is "none"; anything else goes to the API as typed, which says what is wrong with it. */
function limit(value: string): number | null {
  const trimmed = value.trim();
  return trimmed === '' ? null : Number(trimmed);
}

export function inputOf(draft: KeyDraft): KeyInput {
  return {
    name: draft.name,
    scopes: draft.scopes,
    rate_limit: { per_minute: limit(draft.perMinute), per_hour: limit(draft.perHour) },
    ip_allowlist: draft.allowlist
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean),
  };
}

export function rateLimitText(rate: ApiKey['rate_limit']): string {
  const parts = [rate.per_minute === null ? '' : `${rate.per_minute}/min`, rate.per_hour === null ? '' : `${rate.per_hour}/h`];
  return parts.filter(Boolean).join(' · ') || '—';
}
