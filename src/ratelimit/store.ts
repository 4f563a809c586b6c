import type { RateLimitResult, Window } from './decision.js';

export type { RateLimitResult, Window } from './decision.js';

/**
 * Where counts live: in process (one instance) or in Redis (any number of instances, one truth).
 * Both decide with decide() in decision.ts, so they answer alike for the same counts.
 */
export interface RateLimitStore {
  /**
   * Decides one request of `bucket` (an opaque id such as `key:key_01abc` or `ip:203.0.113.7`) at
   * `nowMs` and, only if it is allowed, counts it in every window, atomically with the decision. `cost`
   * (a positive integer, default 1) is how many units the request takes in every window.
   * Rejects on an invalid bucket or windows, when the store is closed, or when its backend fails;
   * whether to then let the request through is the caller's policy, not the store's.
   */
  consume(bucket: string, windows: readonly Window[], nowMs: number, cost?: number): Promise<RateLimitResult>;
  /**
   * Only where a store decides without I/O (in process): consume() answered at once, throwing where
   * consume() rejects. The hot path uses it to answer a cached key without a Promise.
   */
  consumeNow?(bucket: string, windows: readonly Window[], nowMs: number, cost?: number): RateLimitResult;
  /** Stops background work; idempotent. After it, consume() rejects. */
  close(): Promise<void>;
}

const MAX_BUCKET_LENGTH = 200;

/**
 * Bucket ids become part of Redis key names, where `{...}` is the cluster hash tag: a brace inside
 * the id could split one bucket's counters over several slots, and the script needs them on one.
 */
export function checkBucket(bucket: string): void {
  if (bucket.length === 0 || bucket.length > MAX_BUCKET_LENGTH) {
    throw new RangeError(`bucket id must be 1 to ${MAX_BUCKET_LENGTH} characters`);
  }
  if (/[{}]/.test(bucket)) throw new RangeError('bucket id must not contain braces');
}

export function storeClosedError(): Error {
  return new Error('rate-limit store is closed');
}
