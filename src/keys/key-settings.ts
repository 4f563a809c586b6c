import { z } from 'zod';
import { invalidRequest } from '../http/errors.js';
import { normalizeAllowlistEntry } from './ip-allowlist.js';
import type { Product } from '../product/product.js';

export interface RateLimit {
  per_minute: number | null;
  per_hour: number | null;
}

export interface Ceiling {
  ceiling_per_minute: number;
  ceiling_per_hour: number;
}

/** The column is a PostgreSQL integer: a limit or ceiling above this is a mistake, not a policy. */
export const MAX_RATE_LIMIT = 2_147_483_647;

/** One window's limit, as the API and the operator CLI read it. */
export const rateLimitValue = z.number().int().min(1).max(MAX_RATE_LIMIT);

/** A workspace's ceiling: both windows, and an hour that can hold at least one minute's worth. */
export const ceilingSchema = z
  .object({ ceiling_per_minute: rateLimitValue, ceiling_per_hour: rateLimitValue })
  .refine((c) => c.ceiling_per_hour >= c.ceiling_per_minute, {
    path: ['ceiling_per_hour'],
    message: 'must be at least the per-minute ceiling: an hour holds every minute in it',
  });

const OPERATOR_HINT = 'For bulk exports, ask your Latchkey operator to raise the workspace ceiling.';

/** The deployment's scope catalog, as the checks below need it. */
export type ScopeCatalog = Pick<Product, 'isScope'>;

/** Every scope must be in the deployment's catalog; duplicates are dropped, order is kept. */
export function checkScopes(scopes: readonly string[], catalog: ScopeCatalog): string[] {
  const seen = new Set<string>();
  scopes.forEach((scope, index) => {
    if (!catalog.isScope(scope)) {
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

/**
 * A key needs at least one window, and no window may be above the workspace's ceiling. What it returns is
 * what the key gets: the windows given, and an open one filled in when the ceiling needs it (fitToCeiling).
 */
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
  return fitToCeiling(limit, ceiling);
}

/**
 * Every window of the ceiling bounds the key. A window above the ceiling's comes down to it (a ceiling
 * lowered under existing keys), and a window the key leaves open takes the ceiling's value when the key's
 * other window would let it through: m a minute allows 60·m in an hour, and h an hour may all come in
 * one minute. A window the other one already keeps under the ceiling stays open (60/min under a 60,000/h
 * ceiling), so a key shows exactly the windows that hold it.
 */
export function fitToCeiling(limit: RateLimit, ceiling: Ceiling): RateLimit {
  const { ceiling_per_minute: minuteCeiling, ceiling_per_hour: hourCeiling } = ceiling;
  const minute = limit.per_minute === null ? null : Math.min(limit.per_minute, minuteCeiling);
  const hour = limit.per_hour === null ? null : Math.min(limit.per_hour, hourCeiling);
  return {
    per_minute: minute !== null || (hour !== null && hour <= minuteCeiling) ? minute : minuteCeiling,
    per_hour: hour !== null || (minute !== null && minute * 60 <= hourCeiling) ? hour : hourCeiling,
  };
}

export function sameRateLimit(a: RateLimit, b: RateLimit): boolean {
  return a.per_minute === b.per_minute && a.per_hour === b.per_hour;
}

/** A partial rate limit from a PATCH: given windows replace, missing ones stay; null clears one. */
export function mergeRateLimit(current: RateLimit, patch: Partial<RateLimit>): RateLimit {
  return {
    per_minute: patch.per_minute === undefined ? current.per_minute : patch.per_minute,
    per_hour: patch.per_hour === undefined ? current.per_hour : patch.per_hour,
  };
}
