import { createHash } from 'node:crypto';
import { AppError } from '../http/errors.js';
import type { RateLimitStore, Window } from '../ratelimit/store.js';

/**
 * Failed sign-ins allowed per window: per email from one source address, and per source address
 * whatever the email (one address trying many accounts). 15-minute windows, as OWASP suggests.
 */
export const LOGIN_FAILURES = {
  perEmailAndIp: { seconds: 900, limit: 10 },
  perIp: { seconds: 900, limit: 100 },
} as const satisfies Record<string, Window>;

/**
 * Attempts of any outcome allowed per second, counted before the password is checked. Failures are only
 * known after scrypt, so without this many guesses sent at once would all be checked before the first
 * of them failed and counted; with it, at most this many run past an exhausted failure budget.
 */
export const LOGIN_BURST = {
  perEmailAndIp: { seconds: 1, limit: 3 },
  perIp: { seconds: 1, limit: 20 },
} as const satisfies Record<string, Window>;

/** Blocked buckets remembered in this instance; past it the oldest is forgotten (the store still counts). */
const MAX_BLOCKED = 100_000;

export interface LoginThrottle {
  /** Before the password is checked: throws 429 `rate_limited` while either failure budget is used up. */
  admit(email: string, sourceIp: string, nowMs: number): Promise<void>;
  /** After a wrong password or an unknown email: counts it; the 429 to answer instead of 401 once over a budget. */
  failed(email: string, sourceIp: string, nowMs: number): Promise<AppError | null>;
}

/**
 * The email is hashed before it becomes part of a bucket id (a Redis key name with REDIS_URL): the
 * rate-limit store then holds no address, and an email's braces or length cannot make an invalid id.
 */
function emailTag(email: string): string {
  return createHash('sha256').update(email).digest('base64url').slice(0, 22);
}

function throttled(retryAfter: number): AppError {
  const minutes = Math.ceil(retryAfter / 60);
  const wait = retryAfter < 60 ? `${retryAfter} s` : `${minutes} minute${minutes === 1 ? '' : 's'}`;
  // One message whether or not the email has an account, and whichever budget ran out.
  return new AppError('rate_limited', `Too many sign-in attempts from this address. Try again in ${wait}.`, {
    headers: { 'Retry-After': String(retryAfter) },
  });
}

/**
 * Failed sign-ins limited like made-up API keys: counted in the app's rate-limit store (Redis with
 * REDIS_URL, so every instance counts together), with buckets per email and source address and per
 * source address. Only failures count against the 15-minute budgets, so a successful sign-in neither
 * uses one up nor resets one: an attacker who owns an account cannot sign in to it to clear their address.
 *
 * The store cannot read a count without adding to it, so a used-up budget is learnt from the failure that
 * fills it (or, on another instance, finds it full); this instance then refuses the bucket until its
 * window ends without touching the store, scrypt or the database. An instance that has not seen the budget
 * run out may check up to LOGIN_BURST guesses more before its first failure tells it.
 */
export function createLoginThrottle(store: Pick<RateLimitStore, 'consume'>): LoginThrottle {
  /** Bucket id → until when (ms) it is refused here. Insertion order is age order. */
  const blocked = new Map<string, number>();

  function buckets(email: string, sourceIp: string) {
    const tag = emailTag(email);
    return {
      failEmail: `loginfail:${tag}:${sourceIp}`,
      failIp: `loginfail:ip:${sourceIp}`,
      burstEmail: `loginburst:${tag}:${sourceIp}`,
      burstIp: `loginburst:ip:${sourceIp}`,
    };
  }

  function block(bucket: string, untilMs: number): void {
    blocked.delete(bucket);
    blocked.set(bucket, untilMs);
    if (blocked.size > MAX_BLOCKED) blocked.delete(blocked.keys().next().value as string);
  }

  function blockedFor(bucket: string, nowMs: number): number {
    const until = blocked.get(bucket);
    if (until === undefined) return 0;
    if (until <= nowMs) {
      blocked.delete(bucket);
      return 0;
    }
    return Math.ceil((until - nowMs) / 1000);
  }

  /**
   * Counts one in `bucket` and returns the 429 when it was already full. With `remember`, a bucket this
   * request filled or found full is refused here from now on, so that on this instance the budget's last
   * failure is the last password checked.
   */
  async function count(bucket: string, window: Window, nowMs: number, remember: boolean): Promise<AppError | null> {
    const result = await store.consume(bucket, [window], nowMs);
    if (remember && result.remaining === 0) block(bucket, result.resetAt * 1000);
    return result.allowed ? null : throttled(result.retryAfter);
  }

  return {
    async admit(email, sourceIp, nowMs) {
      const ids = buckets(email, sourceIp);
      const wait = Math.max(blockedFor(ids.failEmail, nowMs), blockedFor(ids.failIp, nowMs));
      if (wait > 0) throw throttled(wait);
      const refusal =
        (await count(ids.burstIp, LOGIN_BURST.perIp, nowMs, false)) ??
        (await count(ids.burstEmail, LOGIN_BURST.perEmailAndIp, nowMs, false));
      if (refusal) throw refusal;
    },

    async failed(email, sourceIp, nowMs) {
      const ids = buckets(email, sourceIp);
      // Both are counted: each budget stands on its own.
      const [perEmail, perIp] = await Promise.all([
        count(ids.failEmail, LOGIN_FAILURES.perEmailAndIp, nowMs, true),
        count(ids.failIp, LOGIN_FAILURES.perIp, nowMs, true),
      ]);
      return perEmail ?? perIp;
    },
  };
}
