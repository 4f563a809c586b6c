import { checkCost, checkWindows, decideChecked, MAX_WINDOWS, windowStart, type RateLimitResult, type Window } from './decision.js';
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
  /** consume(), answered at once: throws where consume() rejects. The hot path uses it to stay synchronous. */
  consumeNow(bucket: string, windows: readonly Window[], nowMs: number, cost?: number): RateLimitResult;
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
interface Bucket {
  counters: Map<number, Counter>;
  /** When the bucket last moved to the recent end of the recency order (see touch). */
  touchedAt: number;
}

const DEFAULT_SWEEP_INTERVAL_MS = 60_000;
const DEFAULT_MAX_BUCKETS = 100_000;

/** Rate limits for a single instance: exact because consumeNow() never awaits between reading and counting. */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryRateLimitStore {
  const maxBuckets = options.maxBuckets ?? DEFAULT_MAX_BUCKETS;
  const clock = options.clock ?? Date.now;
  if (!Number.isSafeInteger(maxBuckets) || maxBuckets < 1) throw new RangeError('maxBuckets must be a positive integer');
  // Insertion order is recency order: touch() moves a bucket to the end, so the first is the least recent.
  const buckets = new Map<string, Bucket>();
  /** Counts moves to the end, as a clock for touchedAt. */
  let moves = 0;
  // Scratch space for one decision, one pair per number of windows (resizing an array costs more than
  // the decision): consumeNow() runs to the end before the next starts, so one pair of each is enough.
  const scratch = Array.from({ length: MAX_WINDOWS + 1 }, (_, n) => ({
    counters: Array.from({ length: n }, (): Counter => ({ start: 0, count: 0 })),
    counts: Array.from({ length: n }, () => 0),
  }));
  let closed = false;

  const timer = setInterval(() => sweep(clock()), options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
  // The sweep must never be what keeps the process alive on shutdown.
  timer.unref();

  /**
   * Moving a bucket to the end costs a delete and an insert, so a bucket moved within the last quarter
   * of the cap's worth of moves stays where it is: it is still far from the front, where eviction takes
   * from. Eviction stays close to least-recently-used, and the busiest buckets cost a lookup only.
   */
  function touch(id: string): Bucket {
    let bucket = buckets.get(id);
    if (bucket === undefined) {
      // Only checked ids are ever stored, so a bucket that exists needs no new check.
      checkBucket(id);
      bucket = { counters: new Map(), touchedAt: 0 };
    } else if (moves - bucket.touchedAt <= maxBuckets >> 2) {
      return bucket;
    } else {
      buckets.delete(id);
    }
    bucket.touchedAt = ++moves;
    buckets.set(id, bucket);
    if (buckets.size > maxBuckets) {
      for (const oldest of buckets.keys()) {
        if (buckets.size <= maxBuckets) break;
        buckets.delete(oldest);
      }
    }
    return bucket;
  }

  function counterOf(bucket: Bucket, seconds: number, nowMs: number): Counter {
    const start = windowStart(nowMs, seconds);
    const counter = bucket.counters.get(seconds);
    if (counter !== undefined && counter.start === start) return counter;
    const fresh = { start, count: 0 };
    bucket.counters.set(seconds, fresh);
    return fresh;
  }

  function sweep(nowMs: number): void {
    const nowSeconds = nowMs / 1000;
    for (const [id, bucket] of buckets) {
      for (const [seconds, counter] of bucket.counters) {
        if (counter.start + seconds <= nowSeconds) bucket.counters.delete(seconds);
      }
      if (bucket.counters.size === 0) buckets.delete(id);
    }
  }

  function consumeNow(id: string, windows: readonly Window[], nowMs: number, cost = 1): RateLimitResult {
    if (closed) throw storeClosedError();
    checkWindows(windows);
    // Checked before the bucket is touched, so that a bad cost leaves no trace.
    if (cost !== 1) checkCost(cost);
    const bucket = touch(id);
    const { counters, counts } = scratch[windows.length]!;
    for (let i = 0; i < windows.length; i++) {
      const counter = counterOf(bucket, windows[i]!.seconds, nowMs);
      counters[i] = counter;
      counts[i] = counter.count;
    }
    const result = decideChecked(windows, counts, nowMs, cost);
    if (result.allowed) for (let i = 0; i < windows.length; i++) counters[i]!.count += cost;
    return result;
  }

  return {
    consumeNow,
    // async so that a throw becomes a rejection; consumeNow has no await, so it runs to the end before
    // any other call's body starts, and no two calls can both see the last free slot.
    async consume(id: string, windows: readonly Window[], nowMs: number, cost = 1): Promise<RateLimitResult> {
      return consumeNow(id, windows, nowMs, cost);
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
