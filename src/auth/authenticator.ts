import type { Db } from '../db/client.js';
import { budgetAddress } from '../http/client-ip.js';
import { AppError } from '../http/errors.js';
import { hashSecret, isWellFormedSecret, secretLength } from '../keys/key-format.js';
import type { KeysRepo } from '../keys/keys-repo.js';
import { secretState } from '../keys/lifecycle.js';
import { keyWindows, MINUTE, type RateLimitResult } from '../ratelimit/decision.js';
import type { RateLimitStore } from '../ratelimit/store.js';
import { bearerToken } from './bearer.js';
import { compileAllowlist } from './ip-match.js';
import type { AuditedKey, KeyCache, VerifiedSecret } from './key-cache.js';
import type { Principal } from './principal.js';
import type { UsageTracker } from './usage-tracker.js';

export interface AuthenticatorDeps {
  db: Db;
  repo: Pick<KeysRepo, 'findBySecretHash'>;
  cache: KeyCache;
  rateLimits: RateLimitStore;
  usage: Pick<UsageTracker, 'record'>;
  keyPrefix: string;
  /** The deployment's catalog: a scope a key holds but the product file no longer lists grants nothing. */
  isScope: (scope: string) => boolean;
  /** Failed verifications (made-up or dead keys) allowed per source IP per minute. */
  authFailuresPerMinute: number;
  now: () => Date;
  onLookup?: (result: 'hit' | 'miss') => void;
}

export interface Authenticated {
  principal: Principal;
  rateLimit: RateLimitResult;
}

/** Everything the audit log wants to know about a refused request, whichever check refused it. */
export interface AuthAttempt {
  key?: AuditedKey;
  rateLimit?: RateLimitResult;
  /** The recognised key's principal (set with `key`), for a door that answers with it (verify). */
  principal?: Principal;
  /** Set once every check has passed, the route's scope included. */
  passed?: boolean;
  /** Refused with no recognised key, the source IP's failure budget used up: the audit log counts it, not keeps it. */
  pastFailureBudget?: boolean;
}

const REALM = 'Bearer realm="latchkey"';
const INVALID_KEY = 'The API key is not valid. Check that it was copied whole.';

function unauthorized(code: 'missing_api_key' | 'invalid_api_key' | 'api_key_revoked' | 'api_key_expired', message: string): AppError {
  // RFC 6750 §3: no error attribute when the request carried no credentials at all.
  const challenge = code === 'missing_api_key' ? REALM : `${REALM}, error="invalid_token", error_description="${message}"`;
  return new AppError(code, message, { headers: { 'WWW-Authenticate': challenge } });
}

function rateLimitHeaders(result: RateLimitResult): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(result.limit),
    'X-RateLimit-Remaining': String(result.remaining),
    'X-RateLimit-Reset': String(result.resetAt),
  };
}

export { rateLimitHeaders };

function toVerified(row: NonNullable<Awaited<ReturnType<KeysRepo['findBySecretHash']>>>, isScope: (scope: string) => boolean): VerifiedSecret {
  const principal: Principal = Object.freeze({
    workspaceId: row.workspace_id,
    mode: row.mode,
    keyId: row.key_id,
    keyName: row.name,
    secretId: row.secret_id,
    secretVersion: row.version,
    scopes: new Set(row.scopes.filter(isScope)),
    meta: deepFreeze(row.meta),
    workspaceExternalId: row.workspace_external_id,
    keyExpiresAt: row.key_expires_at,
    secretPrefix: row.secret_prefix,
  });
  return {
    principal,
    auditKey: Object.freeze({
      id: row.key_id,
      name: row.name,
      workspaceId: row.workspace_id,
      mode: row.mode,
      secretId: row.secret_id,
      secretVersion: row.version,
    }),
    keyRevokedAt: row.key_revoked_at,
    keyExpiresAtMs: row.key_expires_at === null ? Number.POSITIVE_INFINITY : row.key_expires_at.getTime(),
    secret: Object.freeze({ expires_at: row.expires_at, revoked_at: row.secret_revoked_at }),
    windows: keyWindows({ per_minute: row.rate_limit_per_minute, per_hour: row.rate_limit_per_hour }),
    bucket: `key:${row.key_id}`,
    allows: compileAllowlist(row.ip_allowlist),
  };
}

/**
 * The hot path, in PRODUCT.md's order; the first check that fails answers:
 * header → format and checksum (no storage) → known secret → key and version alive → source IP in the
 * allowlist → rate limit → (the route's scope, checked by the plugin, which knows the route).
 * The IP check comes before the rate limit so that a leaked key used from elsewhere cannot burn its
 * owner's quota; for the same reason a refusal before the rate limit carries no rate-limit headers.
 *
 * A cached key with the in-process rate-limit store needs no I/O, so authenticate() then answers at
 * once, without a Promise (a refusal is thrown); storage or Redis make it return a Promise (a refusal
 * rejects it). Callers handle both; the cost of a Promise and its microtasks is a large share of the
 * few microseconds a cached key takes.
 */
export function createAuthenticator(deps: AuthenticatorDeps) {
  const { cache, rateLimits } = deps;
  const keyLength = secretLength(deps.keyPrefix);
  const consumeNow = rateLimits.consumeNow?.bind(rateLimits);
  /** Source IPs that used up their failure budget, and until when (ms): refused before any lookup. */
  const blocked = new Map<string, number>();

  async function lookup(hash: string): Promise<VerifiedSecret | null> {
    const generation = cache.generation;
    const row = await deps.repo.findBySecretHash(deps.db, hash);
    const verified = row ? toVerified(row, deps.isScope) : null;
    cache.set(hash, verified, generation);
    return verified;
  }

  /**
   * Counts a call with no key we know (none, malformed, made up) against the source IP; within the budget
   * it answers `refusal`, past it 429. A blocked address is refused before anything is counted or looked up.
   */
  function unrecognised(sourceIp: string, now: Date, attempt: AuthAttempt, refusal: AppError): Promise<never> {
    if (blocked.size > 0) refuseIfBlocked(sourceIp, now.getTime(), attempt);
    return failed(sourceIp, now.getTime(), attempt, refusal);
  }

  /** An address past its budget is refused at once, with no count and no lookup: a flood costs a Map read. */
  function refuseIfBlocked(sourceIp: string, nowMs: number, attempt: AuthAttempt): void {
    const until = blocked.get(budgetAddress(sourceIp));
    if (until === undefined || until <= nowMs) return;
    attempt.pastFailureBudget = true;
    throw tooManyFailures(Math.ceil((until - nowMs) / 1000));
  }

  async function failed(sourceIp: string, nowMs: number, attempt: AuthAttempt, refusal: AppError = unauthorized('invalid_api_key', INVALID_KEY)): Promise<never> {
    const result = await rateLimits.consume(`authfail:${budgetAddress(sourceIp)}`, [{ seconds: MINUTE, limit: deps.authFailuresPerMinute }], nowMs);
    if (result.allowed) throw refusal;
    attempt.pastFailureBudget = true;
    blocked.set(budgetAddress(sourceIp), result.resetAt * 1000);
    if (blocked.size > 100_000) blocked.delete(blocked.keys().next().value as string);
    throw tooManyFailures(result.retryAfter);
  }

  function tooManyFailures(retryAfter: number): AppError {
    return new AppError('rate_limited', 'Too many requests without a valid API key from this address. Wait, and check the key and the URL.', {
      headers: { 'Retry-After': String(retryAfter) },
    });
  }

  /**
   * The checks after the lookup, for a key that exists: alive, allowlist, rate limit. A key outside the
   * caller's `workspaces` (a service key's limits, for verify) is treated as unknown: it is not revealed.
   */
  function admit(
    verified: VerifiedSecret,
    now: Date,
    sourceIp: string,
    attempt: AuthAttempt,
    cost: number,
    workspaces: ReadonlySet<string> | null,
  ): Authenticated | Promise<Authenticated> {
    if (workspaces !== null && !workspaces.has(verified.principal.workspaceId)) return failed(sourceIp, now.getTime(), attempt);
    attempt.key = verified.auditKey;
    attempt.principal = verified.principal;
    // A dead key is a real key, not a guess: it does not count against the source IP, so a fleet still
    // sending a rotated-out secret cannot lock its own new secret out.
    if (verified.keyRevokedAt) throw unauthorized('api_key_revoked', 'This API key has been revoked.');
    const state = secretState(verified.secret, now);
    if (state === 'revoked') throw unauthorized('api_key_revoked', 'This version of the API key has been revoked; use the current secret.');
    // The key's own end, compared to now on every request: a cached key expires on time without storage.
    if (now.getTime() >= verified.keyExpiresAtMs) throw unauthorized('api_key_expired', 'This API key has expired. Ask its owner for a new key, or to extend it.');
    if (state === 'expired') throw unauthorized('api_key_expired', 'This version of the API key has expired after rotation; use the current secret.');

    if (!verified.allows(sourceIp)) {
      throw new AppError('ip_not_allowed', `This API key does not accept requests from ${sourceIp}. Add the address to the key's IP allowlist.`);
    }
    const { principal } = verified;
    deps.usage.record(principal.keyId, principal.secretId, now, sourceIp);

    if (consumeNow) return limited(principal, consumeNow(verified.bucket, verified.windows, now.getTime(), cost), attempt);
    return rateLimits.consume(verified.bucket, verified.windows, now.getTime(), cost).then((result) => limited(principal, result, attempt));
  }

  function limited(principal: Principal, rateLimit: RateLimitResult, attempt: AuthAttempt): Authenticated {
    attempt.rateLimit = rateLimit;
    if (!rateLimit.allowed) {
      throw new AppError('rate_limited', `This API key is over its rate limit (${rateLimit.limit} requests in the current window); retry in ${rateLimit.retryAfter} s.`, {
        headers: { ...rateLimitHeaders(rateLimit), 'Retry-After': String(rateLimit.retryAfter) },
      });
    }
    return { principal, rateLimit };
  }

  async function afterLookup(
    hash: string,
    now: Date,
    sourceIp: string,
    attempt: AuthAttempt,
    cost: number,
    workspaces: ReadonlySet<string> | null,
  ): Promise<Authenticated> {
    const verified = await lookup(hash);
    if (!verified) return failed(sourceIp, now.getTime(), attempt);
    return admit(verified, now, sourceIp, attempt, cost, workspaces);
  }

  /**
   * Verifies a key however it arrived (a Bearer header for /api/v1, a body field for verify); `attempt`
   * collects what was learned. `cost`: the units the call takes of the key's rate limit. `workspaces`:
   * where the caller may see keys (null: anywhere). Answers at once for a cached key with an in-process
   * store, else with a Promise; a refusal is an AppError, thrown or rejected alike.
   */
  function authenticateToken(
    token: string | null,
    sourceIp: string,
    attempt: AuthAttempt = {},
    cost = 1,
    workspaces: ReadonlySet<string> | null = null,
  ): Authenticated | Promise<Authenticated> {
    const now = deps.now();
    // No key, or not one of ours, counts against the source IP as a made-up key does: without it, a
    // flood of such calls would cost nothing and write an audit event each.
    if (!token) return unrecognised(sourceIp, now, attempt, unauthorized('missing_api_key', 'Send your API key as Authorization: Bearer <key>.'));
    // Every key of ours has the same length: anything else is refused before it costs a hash.
    if (token.length !== keyLength) return unrecognised(sourceIp, now, attempt, unauthorized('invalid_api_key', INVALID_KEY));
    const hash = hashSecret(token);
    const cached = cache.get(hash);
    // The format and checksum check, before storage as PRODUCT.md orders it, but only for what the cache
    // does not know: a cached secret (known, or known not to exist) passed it when it was first looked
    // up, and SHA-256 ties the hash to that very string, so checking again would answer the same.
    if (cached === undefined && !isWellFormedSecret(token, deps.keyPrefix)) return unrecognised(sourceIp, now, attempt, unauthorized('invalid_api_key', INVALID_KEY));
    if (blocked.size > 0 && !cached) refuseIfBlocked(sourceIp, now.getTime(), attempt);
    deps.onLookup?.(cached === undefined ? 'miss' : 'hit');
    if (cached === undefined) return afterLookup(hash, now, sourceIp, attempt, cost, workspaces);
    if (cached === null) return failed(sourceIp, now.getTime(), attempt);
    return admit(cached, now, sourceIp, attempt, cost, workspaces);
  }

  return {
    authenticateToken,
    /** /api/v1's door: the key from `Authorization: Bearer <key>`, one unit of the rate limit. */
    authenticate(authorization: string | string[] | undefined, sourceIp: string, attempt: AuthAttempt = {}): Authenticated | Promise<Authenticated> {
      return authenticateToken(bearerToken(authorization), sourceIp, attempt);
    },
  };
}

/** The key's meta as the principal hands it on: nothing a door does with it can change the cached copy. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
