import { createHash } from 'node:crypto';
import { budgetAddress } from '../http/client-ip.js';
import { AppError } from '../http/errors.js';
import { windowEnd } from '../ratelimit/decision.js';
import type { RateLimitStore, Window } from '../ratelimit/store.js';

/**
 * Failed sign-ins allowed per window: per email from one source address, per source address whatever
 * the email (one address trying many accounts), and per email from all addresses together (many
 * addresses trying one account). 15-minute windows, as OWASP suggests. An IPv6 source counts per /64.
 *
 * Past the per-email budget the account is locked for the rest of the window, but only for addresses that
 * have not signed in to it successfully in the last 15 to 30 days (REMEMBERED): the owner's usual
 * addresses keep their own per-address budgets, so an attacker can lock out strangers to the account, not
 * its owner. Failures for an email with no account count the same, so a lockout tells nothing.
 */
export const LOGIN_FAILURES = {
  perEmailAndIp: { seconds: 900, limit: 10 },
  perIp: { seconds: 900, limit: 100 },
  perEmail: { seconds: 900, limit: 50 },
} as const satisfies Record<string, Window>;

const DAY = 86_400;

/**
 * How a successful sign-in is remembered: one count in a 30-day window, in two buckets whose windows are
 * half a window apart (the second is counted and asked at the time plus 15 days). Windows are aligned to
 * the epoch, so one alone would forget a sign-in made just before its end; of the two windows that hold a
 * sign-in, one ends at least 15 days after it. A sign-in is remembered for 15 to 30 days.
 */
const REMEMBERED: Window = { seconds: 30 * DAY, limit: 1 };
const REMEMBERED_SHIFTS_MS = [0, 15 * DAY * 1000] as const;

/** A window that is full whenever it is asked about (see `remembered`). */
const GATE: Window = { seconds: 1, limit: 1 };

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
  /** After a right password: remembers the address for the account, which then passes the account's lockout. */
  succeeded(email: string, sourceIp: string, nowMs: number): Promise<void>;
}

/**
 * The email is hashed before it becomes part of a bucket id (a Redis key name with REDIS_URL): the
 * rate-limit store then holds no address, and an email's braces or length cannot make an invalid id.
 */
function emailTag(email: string): string {
  return createHash('sha256').update(email).digest('base64url').slice(0, 22);
}

/** An email and a source address together, hashed: the store holds which addresses signed in to which account. */
function pairTag(email: string, address: string): string {
  return createHash('sha256').update(`${email}\n${address}`).digest('base64url').slice(0, 22);
}

function throttled(retryAfter: number): AppError {
  const minutes = Math.ceil(retryAfter / 60);
  const wait = retryAfter < 60 ? `${retryAfter} s` : `${minutes} minute${minutes === 1 ? '' : 's'}`;
  // One message whether or not the email has an account, and whichever budget ran out.
  return new AppError('rate_limited', `Too many sign-in attempts for this account or from this address. Try again in ${wait}.`, {
    headers: { 'Retry-After': String(retryAfter) },
  });
}

/**
 * Failed sign-ins limited like made-up API keys: counted in the app's rate-limit store (Redis with
 * REDIS_URL, so every instance counts together), with buckets per email and source address, per source
 * address, and per email. Only failures count against the 15-minute budgets, so a successful sign-in
 * neither uses one up nor resets one: an attacker who owns an account cannot sign in to it to clear their
 * address. A successful sign-in only lets its address past that one account's lockout.
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
    const address = budgetAddress(sourceIp);
    return {
      failEmail: `loginfail:${tag}:${address}`,
      failIp: `loginfail:ip:${address}`,
      failAccount: `loginfail:acct:${tag}`,
      burstEmail: `loginburst:${tag}:${address}`,
      burstIp: `loginburst:ip:${address}`,
      known: REMEMBERED_SHIFTS_MS.map((shift, i) => ({ bucket: `loginok${i}:${pairTag(email, address)}`, shift })),
    };
  }

  /**
   * Whether the address signed in to the account recently. The store has no read (consume() counts what it
   * allows), so each bucket is asked with a request that cannot pass: a 1-second gate window is filled
   * first, then the gate and the REMEMBERED window are asked together at the same instant. Refused (the
   * gate is full), that request counts nowhere, and reports of the full windows the one that resets last:
   * the REMEMBERED window, which ends after the gate, when a sign-in was counted in it. (In the last second
   * of a REMEMBERED window both end together and the answer is no; the other bucket is then mid-window.)
   */
  async function remembered(known: ReadonlyArray<{ bucket: string; shift: number }>, nowMs: number): Promise<boolean> {
    for (const { bucket, shift } of known) {
      const at = nowMs + shift;
      await store.consume(bucket, [GATE], at);
      const asked = await store.consume(bucket, [GATE, REMEMBERED], at);
      if (!asked.allowed && asked.resetAt > windowEnd(at, GATE.seconds)) return true;
    }
    return false;
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
      const locked = blockedFor(ids.failAccount, nowMs);
      if (locked > 0 && !(await remembered(ids.known, nowMs))) throw throttled(locked);
      const refusal =
        (await count(ids.burstIp, LOGIN_BURST.perIp, nowMs, false)) ??
        (await count(ids.burstEmail, LOGIN_BURST.perEmailAndIp, nowMs, false));
      if (refusal) throw refusal;
    },

    async failed(email, sourceIp, nowMs) {
      const ids = buckets(email, sourceIp);
      // All are counted: each budget stands on its own.
      const [perEmail, perIp, perAccount] = await Promise.all([
        count(ids.failEmail, LOGIN_FAILURES.perEmailAndIp, nowMs, true),
        count(ids.failIp, LOGIN_FAILURES.perIp, nowMs, true),
        count(ids.failAccount, LOGIN_FAILURES.perEmail, nowMs, true),
      ]);
      if (perEmail ?? perIp) return perEmail ?? perIp;
      // A locked account still answers a remembered address by its own budgets.
      if (perAccount && !(await remembered(ids.known, nowMs))) return perAccount;
      return null;
    },

    async succeeded(email, sourceIp, nowMs) {
      const { known } = buckets(email, sourceIp);
      for (const { bucket, shift } of known) await store.consume(bucket, [REMEMBERED], nowMs + shift);
    },
  };
}
