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
const MAX_WINDOWS = 8;
const MAX_WINDOW_SECONDS = 31 * 24 * HOUR;

/** Unix second at which the window of this length that contains `nowMs` began; it names the window. */
export function windowStart(nowMs: number, seconds: number): number {
  return Math.floor(nowMs / (seconds * 1000)) * seconds;
}

/** Unix second at which the window of this length that contains `nowMs` ends and the next begins. */
export function windowEnd(nowMs: number, seconds: number): number {
  return windowStart(nowMs, seconds) + seconds;
}

/** A key's limits as windows; a null limit is no window. */
export function keyWindows(limits: { per_minute: number | null; per_hour: number | null }): Window[] {
  const windows: Window[] = [];
  if (limits.per_minute !== null) windows.push({ seconds: MINUTE, limit: limits.per_minute });
  if (limits.per_hour !== null) windows.push({ seconds: HOUR, limit: limits.per_hour });
  return windows;
}

/**
 * Stores call this before any I/O. Two windows of one length would share a counter and count every
 * request twice, and no window at all would mean no limit, which a key may not have.
 */
export function checkWindows(windows: readonly Window[]): void {
  if (windows.length === 0 || windows.length > MAX_WINDOWS) {
    throw new RangeError(`a bucket needs 1 to ${MAX_WINDOWS} windows, got ${windows.length}`);
  }
  const lengths = new Set<number>();
  for (const { seconds, limit } of windows) {
    if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_WINDOW_SECONDS) {
      throw new RangeError(`window length must be a whole number of seconds from 1 to ${MAX_WINDOW_SECONDS}`);
    }
    // A limit of 0 could never pass, so no Retry-After would be true.
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('window limit must be a positive integer');
    if (lengths.has(seconds)) throw new RangeError(`two windows of ${seconds} seconds`);
    lengths.add(seconds);
  }
}

interface WindowState {
  seconds: number;
  limit: number;
  /** Requests already counted in the current window, before this one. */
  count: number;
  resetAt: number;
}

/**
 * Decides one request, given each window's count before it (`counts[i]` belongs to `windows[i]`).
 * When the result is allowed, the caller adds one to every window's count; when refused, to none.
 *
 * Which window the headers report:
 * - allowed: the lowest `remaining` after this request; on a tie the one that resets later (the
 *   client that paces itself by it waits long enough for both); on a further tie, as at the top of
 *   the hour when both windows end together, the longer window.
 * - refused: among the windows that are full, the one that resets latest, since that is when the
 *   request would pass (the others' counts cannot grow meanwhile: nothing passes while one is full);
 *   on a tie, the longer window. `retryAfter` is the whole seconds from `nowMs` to its reset, rounded
 *   up and at least 1, so that a client that waits exactly that long lands in the next window.
 */
export function decide(windows: readonly Window[], counts: readonly number[], nowMs: number): RateLimitResult {
  checkWindows(windows);
  if (counts.length !== windows.length) throw new RangeError('one count per window');
  if (!Number.isFinite(nowMs)) throw new RangeError('nowMs must be a finite number');
  const states = windows.map((window, index): WindowState => {
    const count = counts[index] ?? 0;
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('counts must be non-negative integers');
    return { seconds: window.seconds, limit: window.limit, count, resetAt: windowEnd(nowMs, window.seconds) };
  });

  // A count above the limit is possible when a key's limit was lowered inside a window.
  const full = states.filter((state) => state.count >= state.limit);
  if (full.length > 0) {
    const reported = full.reduce((a, b) => (resetsLater(b, a) ? b : a));
    const retryAfter = Math.max(1, Math.ceil((reported.resetAt * 1000 - nowMs) / 1000));
    return { allowed: false, limit: reported.limit, remaining: 0, resetAt: reported.resetAt, retryAfter };
  }

  const left = (state: WindowState) => state.limit - state.count - 1;
  const reported = states.reduce((a, b) => {
    if (left(a) !== left(b)) return left(b) < left(a) ? b : a;
    return resetsLater(b, a) ? b : a;
  });
  return { allowed: true, limit: reported.limit, remaining: left(reported), resetAt: reported.resetAt, retryAfter: 0 };
}

/** Whether `a` refills after `b`, the longer window breaking a tie so that the order of windows never matters. */
function resetsLater(a: WindowState, b: WindowState): boolean {
  return a.resetAt !== b.resetAt ? a.resetAt > b.resetAt : a.seconds > b.seconds;
}
