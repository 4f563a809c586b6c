import { checkWindows, decide, windowStart, type RateLimitResult, type Window } from './decision.js';
import { checkBucket, storeClosedError, type RateLimitStore } from './store.js';

export interface MemoryStoreOptions {
  /** How often ended windows are dropped. */
  sweepIntervalMs?: number;
  /**
   * Most buckets kept. Past it the least recently used bucket is dropped, which forgets its counts
   * (it may then pass up to a window's limit again): a bounded heap is worth that, and an idle bucket
   * is the one least likely to be near its limit.
   */
  maxBuckets?: number;
  /** The sweep timer's clock; consume() takes the time from its caller. */
  clock?: () => number;
}

export interface MemoryRateLimitStore extends RateLimitStore {
  /** Drops every window that ended at or before `nowMs`, and every bucket left with none. */
  sweep(nowMs: number): void;
  /** Buckets held, for tests and metrics. */
  readonly size: number;
}

interface Counter {
  /** windowStart() of the window this count belongs to; an older start means the count is stale. */
  start: number;
  count: number;
}

/** A bucket's counters by window length, so that a key's changed limit keeps its count, as in Redis. */
type Bucket = Map<number, Counter>;

const DEFAULT_SWEEP_INTERVAL_MS = 60_000;
const DEFAULT_MAX_BUCKETS = 100_000;

/** Rate limits for a single instance: exact because consume() never awaits between reading and counting. */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryRateLimitStore {
  const maxBuckets = options.maxBuckets ?? DEFAULT_MAX_BUCKETS;
  const clock = options.clock ?? Date.now;
  if (!Number.isSafeInteger(maxBuckets) || maxBuckets < 1) throw new RangeError('maxBuckets must be a positive integer');
  // Insertion order is recency order: touch() moves a bucket to the end, so the first is the least recent.
  const buckets = new Map<string, Bucket>();
  let closed = false;

  const timer = setInterval(() => sweep(clock()), options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
  // The sweep must never be what keeps the process alive on shutdown.
  timer.unref();

  function touch(id: string): Bucket {
    const bucket = buckets.get(id) ?? new Map<number, Counter>();
    buckets.delete(id);
    buckets.set(id, bucket);
    for (const oldest of buckets.keys()) {
      if (buckets.size <= maxBuckets) break;
      buckets.delete(oldest);
    }
    return bucket;
  }

  function counterOf(bucket: Bucket, seconds: number, nowMs: number): Counter {
    const start = windowStart(nowMs, seconds);
    const counter = bucket.get(seconds);
    if (counter !== undefined && counter.start === start) return counter;
    const fresh = { start, count: 0 };
    bucket.set(seconds, fresh);
    return fresh;
  }

  function sweep(nowMs: number): void {
    const nowSeconds = nowMs / 1000;
    for (const [id, bucket] of buckets) {
      for (const [seconds, counter] of bucket) {
        if (counter.start + seconds <= nowSeconds) bucket.delete(seconds);
      }
      if (bucket.size === 0) buckets.delete(id);
    }
  }

  return {
    // async only so that a throw becomes a rejection: the body has no await, so it runs to the end
    // before any other call's body starts, and no two calls can both see the last free slot.
    async consume(id: string, windows: readonly Window[], nowMs: number): Promise<RateLimitResult> {
      if (closed) throw storeClosedError();
      checkBucket(id);
      checkWindows(windows);
      const bucket = touch(id);
      const counters = windows.map((window) => counterOf(bucket, window.seconds, nowMs));
      const result = decide(
        windows,
        counters.map((counter) => counter.count),
        nowMs,
      );
      if (result.allowed) for (const counter of counters) counter.count += 1;
      return result;
    },
    async close(): Promise<void> {
      closed = true;
      clearInterval(timer);
      buckets.clear();
    },
    sweep,
    get size() {
      return buckets.size;
    },
  };
}
