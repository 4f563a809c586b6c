import { invalidRequest } from '../http/errors.js';
import { normalizeAllowlistEntry } from './ip-allowlist.js';
import { isScope, type Scope } from './scopes.js';

export interface RateLimit {
  per_minute: number | null;
  per_hour: number | null;
}

export interface Ceiling {
  ceiling_per_minute: number;
  ceiling_per_hour: number;
}

const OPERATOR_HINT = 'For bulk exports, ask your Latchkey operator to raise the workspace ceiling.';

/** Every scope must be in the catalog; duplicates are dropped, order is kept. */
export function checkScopes(scopes: readonly string[]): Scope[] {
  const seen = new Set<Scope>();
  scopes.forEach((scope, index) => {
    if (!isScope(scope)) {
      throw invalidRequest(`scopes.${index}`, `Unknown scope: ${scope}. Pick scopes from the catalog (GET /v1/scopes).`);
    }
    seen.add(scope);
  });
  return [...seen];
}

export function checkAllowlist(entries: readonly string[]): string[] {
  const normalized = entries.map((entry, index) => {
    const result = normalizeAllowlistEntry(entry);
    if (!result.ok) throw invalidRequest(`ip_allowlist.${index}`, `ip_allowlist entry "${entry.trim().slice(0, 64)}" ${result.reason}.`);
    return result.value;
  });
  return [...new Set(normalized)];
}

/** A key needs at least one window, and no window may be above the workspace's ceiling. */
export function checkRateLimit(limit: RateLimit, ceiling: Ceiling): RateLimit {
  if (limit.per_minute === null && limit.per_hour === null) {
    throw invalidRequest('rate_limit', 'rate_limit needs per_minute, per_hour or both: a key cannot be unlimited.');
  }
  if (limit.per_minute !== null && limit.per_minute > ceiling.ceiling_per_minute) {
    throw invalidRequest(
      'rate_limit.per_minute',
      `rate_limit.per_minute can be at most ${ceiling.ceiling_per_minute}, this workspace's ceiling. ${OPERATOR_HINT}`,
    );
  }
  if (limit.per_hour !== null && limit.per_hour > ceiling.ceiling_per_hour) {
    throw invalidRequest(
      'rate_limit.per_hour',
      `rate_limit.per_hour can be at most ${ceiling.ceiling_per_hour}, this workspace's ceiling. ${OPERATOR_HINT}`,
    );
  }
  return limit;
}

/** A partial rate limit from a PATCH: given windows replace, missing ones stay; null clears one. */
export function mergeRateLimit(current: RateLimit, patch: Partial<RateLimit>): RateLimit {
  return {
    per_minute: patch.per_minute === undefined ? current.per_minute : patch.per_minute,
    per_hour: patch.per_hour === undefined ? current.per_hour : patch.per_hour,
  };
}
