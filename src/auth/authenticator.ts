import type { Db } from '../db/client.js';
import { AppError } from '../http/errors.js';
import { hashSecret, parseSecret } from '../keys/key-format.js';
import type { KeysRepo } from '../keys/keys-repo.js';
import { secretState } from '../keys/lifecycle.js';
import { keyWindows, MINUTE, type RateLimitResult } from '../ratelimit/decision.js';
import type { RateLimitStore } from '../ratelimit/store.js';
import { bearerToken } from './bearer.js';
import { compileAllowlist } from './ip-match.js';
import type { KeyCache, VerifiedSecret } from './key-cache.js';
import type { Principal } from './principal.js';
import type { UsageTracker } from './usage-tracker.js';

export interface AuthenticatorDeps {
  db: Db;
  repo: Pick<KeysRepo, 'findBySecretHash'>;
  cache: KeyCache;
  rateLimits: RateLimitStore;
  usage: Pick<UsageTracker, 'record'>;
  keyPrefix: string;
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
  key?: { id: string; name: string; workspaceId: string; mode: Principal['mode']; secretId: string; secretVersion: number };
  rateLimit?: RateLimitResult;
  /** Set once every check has passed, the route's scope included. */
  passed?: boolean;
}

const REALM = 'Bearer realm="latchkey"';

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

function toVerified(row: NonNullable<Awaited<ReturnType<KeysRepo['findBySecretHash']>>>): VerifiedSecret {
  return {
    keyId: row.key_id,
    workspaceId: row.workspace_id,
    keyName: row.name,
    mode: row.mode,
    scopes: new Set(row.scopes),
    windows: keyWindows({ per_minute: row.rate_limit_per_minute, per_hour: row.rate_limit_per_hour }),
    allows: compileAllowlist(row.ip_allowlist),
    keyRevokedAt: row.key_revoked_at,
    secretId: row.secret_id,
    secretVersion: row.version,
    secretExpiresAt: row.expires_at,
    secretRevokedAt: row.secret_revoked_at,
  };
}

/**
 * The hot path, in PRODUCT.md's order; the first check that fails answers:
 * header → format and checksum (no storage) → known secret → key and version alive → source IP in the
 * allowlist → rate limit → (the route's scope, checked by the plugin, which knows the route).
 * The IP check comes before the rate limit so that a leaked key used from elsewhere cannot burn its
 * owner's quota; for the same reason a refusal before the rate limit carries no rate-limit headers.
 */
export function createAuthenticator(deps: AuthenticatorDeps) {
  const { cache } = deps;
  /** Source IPs that used up their failure budget, and until when (ms): refused before any lookup. */
  const blocked = new Map<string, number>();

  async function lookup(hash: string): Promise<VerifiedSecret | null> {
    const cached = cache.get(hash);
    deps.onLookup?.(cached === undefined ? 'miss' : 'hit');
    if (cached !== undefined) return cached;
    const generation = cache.generation;
    const row = await deps.repo.findBySecretHash(deps.db, hash);
    const verified = row ? toVerified(row) : null;
    cache.set(hash, verified, generation);
    return verified;
  }

  /** Counts a made-up key against the source IP; past the budget the answer becomes 429. */
  async function failed(sourceIp: string, error: AppError, nowMs: number): Promise<AppError> {
    const result = await deps.rateLimits.consume(`authfail:${sourceIp}`, [{ seconds: MINUTE, limit: deps.authFailuresPerMinute }], nowMs);
    if (result.allowed) return error;
    blocked.set(sourceIp, result.resetAt * 1000);
    if (blocked.size > 100_000) blocked.delete(blocked.keys().next().value as string);
    return tooManyFailures(result.retryAfter);
  }

  function tooManyFailures(retryAfter: number): AppError {
    return new AppError('rate_limited', 'Too many requests with invalid API keys from this address. Wait and check the key.', {
      headers: { 'Retry-After': String(retryAfter) },
    });
  }

  return {
    /** Verifies the request's key; throws the refusal as an AppError. `attempt` collects what was learned. */
    async authenticate(authorization: string | string[] | undefined, sourceIp: string, attempt: AuthAttempt = {}): Promise<Authenticated> {
      const now = deps.now();
      const nowMs = now.getTime();
      const token = bearerToken(authorization);
      if (!token) throw unauthorized('missing_api_key', 'Send your API key as Authorization: Bearer <key>.');
      if (!parseSecret(token, deps.keyPrefix)) throw unauthorized('invalid_api_key', 'The API key is not valid. Check that it was copied whole.');

      const hash = hashSecret(token);
      const until = blocked.get(sourceIp);
      if (until !== undefined && until > nowMs && !cache.get(hash)) throw tooManyFailures(Math.ceil((until - nowMs) / 1000));

      const verified = await lookup(hash);
      if (!verified) throw await failed(sourceIp, unauthorized('invalid_api_key', 'The API key is not valid. Check that it was copied whole.'), nowMs);
      attempt.key = {
        id: verified.keyId,
        name: verified.keyName,
        workspaceId: verified.workspaceId,
        mode: verified.mode,
        secretId: verified.secretId,
        secretVersion: verified.secretVersion,
      };

      // A dead key is a real key, not a guess: it does not count against the source IP, so a fleet still
      // sending a rotated-out secret cannot lock its own new secret out.
      if (verified.keyRevokedAt) throw unauthorized('api_key_revoked', 'This API key has been revoked.');
      const state = secretState({ expires_at: verified.secretExpiresAt, revoked_at: verified.secretRevokedAt }, now);
      if (state === 'revoked') throw unauthorized('api_key_revoked', 'This version of the API key has been revoked; use the current secret.');
      if (state === 'expired') throw unauthorized('api_key_expired', 'This version of the API key has expired after rotation; use the current secret.');

      if (!verified.allows(sourceIp)) {
        throw new AppError('ip_not_allowed', `This API key does not accept requests from ${sourceIp}. Add the address to the key's IP allowlist.`);
      }
      deps.usage.record({ keyId: verified.keyId, secretId: verified.secretId, at: now, ip: sourceIp });

      const rateLimit = await deps.rateLimits.consume(`key:${verified.keyId}`, verified.windows, nowMs);
      attempt.rateLimit = rateLimit;
      if (!rateLimit.allowed) {
        throw new AppError('rate_limited', `This API key is over its rate limit (${rateLimit.limit} requests in the current window); retry in ${rateLimit.retryAfter} s.`, {
          headers: { ...rateLimitHeaders(rateLimit), 'Retry-After': String(rateLimit.retryAfter) },
        });
      }
      return {
        principal: {
          workspaceId: verified.workspaceId,
          mode: verified.mode,
          keyId: verified.keyId,
          keyName: verified.keyName,
          secretId: verified.secretId,
          secretVersion: verified.secretVersion,
          scopes: verified.scopes,
        },
        rateLimit,
      };
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
