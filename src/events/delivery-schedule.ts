/*
 * The retry schedule of webhook deliveries (README "Events out" documents these numbers; keep them in step).
 * A delivery that does not get a 2xx is tried again after 30 s, then 1 min, 2 min, 4 min … doubling up to
 * 6 h between tries, each delay ±20 % at random (so that the deliveries of an endpoint that was down do not
 * all come back at the same second), until 3 days after the delivery was created: the last try is at that
 * mark, and if it fails too the delivery is `failed` (about 20 tries in all).
 */

/** The delay after the first failed attempt. */
export const RETRY_BASE_DELAY_MS = 30_000;
/** The longest delay between two attempts. */
export const RETRY_MAX_DELAY_MS = 6 * 3_600_000;
/** Each delay is moved by up to this fraction, either way. */
export const RETRY_JITTER = 0.2;
/** How long after its creation a delivery is tried before it is given up as failed. */
export const RETRY_WINDOW_MS = 3 * 24 * 3_600_000;
/** A claim's lease is this many times the send timeout (60 s for 10 s): an attempt always ends inside it. */
export const LEASE_PER_TIMEOUT = 6;

/** The delay after the `attempt`-th failed attempt (1-based): 30 s × 2^(attempt-1), at most 6 h, ±20 %. */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(RETRY_BASE_DELAY_MS * 2 ** Math.max(0, Math.min(attempt - 1, 30)), RETRY_MAX_DELAY_MS);
  return Math.round(base * (1 + RETRY_JITTER * (2 * random() - 1)));
}

export type AfterFailure = { status: 'pending'; nextAttemptAt: Date } | { status: 'failed' };

/**
 * What follows a failed attempt: another one (never later than the window's end, so the last try is at
 * the 3-day mark), or `failed` once the window is over. `scale` shrinks the delays in tests only.
 */
export function afterFailure(delivery: { createdAt: Date; attempts: number }, now: Date, scale = 1, random: () => number = Math.random): AfterFailure {
  const deadline = delivery.createdAt.getTime() + RETRY_WINDOW_MS;
  if (now.getTime() >= deadline) return { status: 'failed' };
  const next = now.getTime() + retryDelayMs(delivery.attempts, random) * scale;
  return { status: 'pending', nextAttemptAt: new Date(Math.min(next, deadline)) };
}
