import type { RateLimitStore } from './store.js';

/**
 * After Redis fails, how long this instance counts on its own before trying Redis again: a Redis that
 * hangs costs its command timeout to one request per pause, not to every request.
 */
export const FALLBACK_PAUSE_MS = 1000;

/**
 * Redis first; while it fails, this instance's own counts. Limits then hold per instance instead of
 * across them (N instances allow up to N times the limit) — chosen over failing closed, which would turn
 * a Redis outage into an outage of every integration. `onFallback` reports each decision made without Redis.
 */
export function createFallbackStore(
  primary: RateLimitStore,
  fallback: RateLimitStore,
  onFallback: (error: unknown) => void,
  clock: () => number = () => performance.now(),
): RateLimitStore {
  let pausedUntil = Number.NEGATIVE_INFINITY;
  let lastError: unknown;
  return {
    async consume(bucket, windows, nowMs) {
      if (clock() < pausedUntil) {
        onFallback(lastError);
        return fallback.consume(bucket, windows, nowMs);
      }
      try {
        return await primary.consume(bucket, windows, nowMs);
      } catch (error) {
        lastError = error;
        pausedUntil = clock() + FALLBACK_PAUSE_MS;
        onFallback(error);
        return fallback.consume(bucket, windows, nowMs);
      }
    },
    async close() {
      await Promise.all([primary.close(), fallback.close()]);
    },
  };
}
