import type { RateLimitStore } from './store.js';

/**
 * Redis first; while it fails, this instance's own counts. Limits then hold per instance instead of
 * across them (N instances allow up to N times the limit) — chosen over failing closed, which would turn
 * a Redis outage into an outage of every integration. `onFallback` reports each failure.
 */
export function createFallbackStore(primary: RateLimitStore, fallback: RateLimitStore, onFallback: (error: unknown) => void): RateLimitStore {
  return {
    async consume(bucket, windows, nowMs) {
      try {
        return await primary.consume(bucket, windows, nowMs);
      } catch (error) {
        onFallback(error);
        return fallback.consume(bucket, windows, nowMs);
      }
    },
    async close() {
      await Promise.all([primary.close(), fallback.close()]);
    },
  };
}
