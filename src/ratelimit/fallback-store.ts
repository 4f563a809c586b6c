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
 *
 * Once Redis has failed, it is trusted again only after a request gets an answer from it. After each
 * pause exactly one request (the probe) tries Redis; the requests that arrive while the probe waits
 * decide locally at once, so a Redis that hangs costs the command timeout to one request per pause,
 * however many arrive meanwhile.
 */
export function createFallbackStore(
  primary: RateLimitStore,
  fallback: RateLimitStore,
  onFallback: (error: unknown) => void,
  clock: () => number = () => performance.now(),
): RateLimitStore {
  let healthy = true;
  let probing = false;
  let pausedUntil = Number.NEGATIVE_INFINITY;
  let lastError: unknown;
  return {
    async consume(bucket, windows, nowMs, cost = 1) {
      if (!healthy && (probing || clock() < pausedUntil)) {
        onFallback(lastError);
        return fallback.consume(bucket, windows, nowMs, cost);
      }
      const probe = !healthy;
      if (probe) probing = true;
      try {
        const result = await primary.consume(bucket, windows, nowMs, cost);
        healthy = true;
        return result;
      } catch (error) {
        // A request that was already waiting on Redis when another found it failing also lands here.
        lastError = error;
        healthy = false;
        pausedUntil = clock() + FALLBACK_PAUSE_MS;
        onFallback(error);
        return fallback.consume(bucket, windows, nowMs, cost);
      } finally {
        if (probe) probing = false;
      }
    },
    async close() {
      await Promise.all([primary.close(), fallback.close()]);
    },
  };
}
