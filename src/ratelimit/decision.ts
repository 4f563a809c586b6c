/**
 * The rate-limit rule, with no I/O, so that the in-process store and the Redis store decide alike.
 *
 * Fixed windows aligned to the Unix epoch, as GitHub's: a 60-second window starts on every whole
 * minute, a 3600-second one on every whole hour (UTC). A request passes only if every window of its
 * bucket has room; a passing request counts once in every window; a refused one counts nowhere, so
 * a client that keeps retrying while limited does not push its own reset further away.
 */

export interface Window {
  /** Length of the window; windows of one bucket must differ in length. */
  seconds: number;
  /** Requests allowed per window. */
  limit: number;
}

export interface RateLimitResult {
  allowed: boolean;
  /** X-RateLimit-Limit: the limit of the reported window. */
  limit: number;
  /** X-RateLimit-Remaining: requests left in the reported window after this one; never negative. */
  remaining: number;
  /** X-RateLimit-Reset: Unix time in seconds at which the reported window refills. */
  resetAt: number;
  /** Retry-After in whole seconds (at least 1) when refused; 0 when allowed. */
  retryAfter: number;
}

export const MINUTE = 60;
export const HOUR = 3600;

/** Beyond these a window is a typo, not a policy; they also keep Redis key names short. */
export const MAX_WINDOWS = 8;
const MAX_WINDOW_SECONDS = 31 * 24 * HOUR;

/** Unix second at which the window of this length that contains `nowMs` began; it names the window. */
export function windowStart(nowMs: number, seconds: number): number {
  return Math.floor(nowMs / (seconds * 1000)) * seconds;
}

/** Unix second at which the window of this length that contains `nowMs` ends and the next begins. */
export function windowEnd(nowMs: number, seconds: number): number {
  return windowStart(nowMs, seconds) + seconds;
}

/**
 * A key's limits as windows; a null limit is no window. The result is checked and frozen here, once, so
 * that the stores need not check it again on every request (see checkWindows).
 */
export function keyWindows(limits: { per_minute: number | null; per_hour: number | null }): readonly Window[] {
  const windows: Window[] = [];
  if (limits.per_minute !== null) windows.push(Object.freeze({ seconds: MINUTE, limit: limits.per_minute }));
  if (limits.per_hour !== null) windows.push(Object.freeze({ seconds: HOUR, limit: limits.per_hour }));
  return frozenWindows(windows);
}

/** Frozen window lists that passed checkWindows: nothing can change them since, so they need no new check. */
const checked = new WeakSet<readonly Window[]>();

/** Checks `windows` and freezes the list and each window, so that checkWindows passes it at the cost of a lookup. */
export function frozenWindows(windows: readonly Window[]): readonly Window[] {
  if (checked.has(windows)) return windows;
  const frozen = Object.freeze(windows.map((window) => (Object.isFrozen(window) ? window : Object.freeze({ seconds: window.seconds, limit: window.limit }))));
  checkWindows(frozen);
  return frozen;
}

/**
 * Stores call this before any I/O. Two windows of one length would share a counter and count every
 * request twice, and no window at all would mean no limit, which a key may not have.
 */
export function checkWindows(windows: readonly Window[]): void {
  // The hot path passes the same frozen list (a cached key's) on every request: it was checked once.
  if (checked.has(windows)) return;
  if (windows.length === 0 || windows.length > MAX_WINDOWS) {
    throw new RangeError(`a bucket needs 1 to ${MAX_WINDOWS} windows, got ${windows.length}`);
  }
  for (let i = 0; i < windows.length; i++) {
    const { seconds, limit } = windows[i]!;
    if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_WINDOW_SECONDS) {
      throw new RangeError(`window length must be a whole number of seconds from 1 to ${MAX_WINDOW_SECONDS}`);
    }
    // A limit of 0 could never pass, so no Retry-After would be true.
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('window limit must be a positive integer');
    for (let j = 0; j < i; j++) if (windows[j]!.seconds === seconds) throw new RangeError(`two windows of ${seconds} seconds`);
  }
  if (Object.isFrozen(windows) && windows.every((window) => Object.isFrozen(window))) checked.add(windows);
}

/**
 * Decides one request of `cost` units (1 unless a caller weighs it, as verify's `cost` does), given each
 * window's count before it (`counts[i]` belongs to `windows[i]`). A window is full for the request when
 * its count plus the cost exceeds its limit. When the result is allowed, the caller adds the cost to every
 * window's count; when refused, nothing. A refusal's `remaining` is what the window still has (0 but for a
 * request of several units that does not fit); a cost above a window's limit never fits.
 *
 * Which window the headers report:
 * - allowed: the lowest `remaining` after this request; on a tie the one that resets later (the
 *   client that paces itself by it waits long enough for both); on a further tie, as at the top of
 *   the hour when both windows end together, the longer window.
 * - refused: among the windows that are full, the one that resets latest, since that is when the
 *   request would pass (the others' counts cannot grow meanwhile: nothing passes while one is full);
 *   on a tie, the longer window. `retryAfter` is the whole seconds from `nowMs` to its reset, rounded
 *   up and at least 1, so that a client that waits exactly that long lands in the next window.
 *
 * It runs on every request, so it loops rather than mapping and reducing: nothing is allocated but the result.
 */
export function decide(windows: readonly Window[], counts: readonly number[], nowMs: number, cost = 1): RateLimitResult {
  checkWindows(windows);
  return decideChecked(windows, counts, nowMs, cost);
}

/** A request's weight in every window: a positive whole number (a bulk call may count as several). */
export function checkCost(cost: number): void {
  if (!Number.isSafeInteger(cost) || cost < 1) throw new RangeError('cost must be a positive integer');
}

/** decide() for windows the caller has just passed through checkWindows (the in-process store does, first). */
export function decideChecked(windows: readonly Window[], counts: readonly number[], nowMs: number, cost = 1): RateLimitResult {
  if (counts.length !== windows.length) throw new RangeError('one count per window');
  if (!Number.isFinite(nowMs)) throw new RangeError('nowMs must be a finite number');
  if (cost !== 1) checkCost(cost);

  // The reported window so far, among the full ones (if any) or among all.
  let full = false;
  let limit = 0;
  let left = 0;
  let resetAt = 0;
  let seconds = 0;
  for (let i = 0; i < windows.length; i++) {
    const window = windows[i]!;
    const count = counts[i]!;
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('counts must be non-negative integers');
    const windowReset = windowEnd(nowMs, window.seconds);
    const later = i === 0 || resetsLater(windowReset, window.seconds, resetAt, seconds);
    // A count above the limit is possible when a key's limit was lowered inside a window.
    if (count + cost > window.limit) {
      if (full && !later) continue;
      full = true;
      // What is left of the window (0 when full; more when a request of several units does not fit).
      left = Math.max(0, window.limit - count);
    } else {
      if (full) continue;
      const windowLeft = window.limit - count - cost;
      if (i > 0 && (windowLeft > left || (windowLeft === left && !later))) continue;
      left = windowLeft;
    }
    limit = window.limit;
    resetAt = windowReset;
    seconds = window.seconds;
  }

  if (full) {
    const retryAfter = Math.max(1, Math.ceil((resetAt * 1000 - nowMs) / 1000));
    return { allowed: false, limit, remaining: left, resetAt, retryAfter };
  }
  return { allowed: true, limit, remaining: left, resetAt, retryAfter: 0 };
}

/** Whether a window refills after another, the longer window breaking a tie so that the order of windows never matters. */
function resetsLater(resetAt: number, seconds: number, otherResetAt: number, otherSeconds: number): boolean {
  return resetAt !== otherResetAt ? resetAt > otherResetAt : seconds > otherSeconds;
}
