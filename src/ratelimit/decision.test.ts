import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkWindows, decide, frozenWindows, keyWindows, windowEnd, windowStart, type RateLimitResult, type Window } from './decision.js';

// 1_800_000_000 is a whole hour (2027-01-15T08:00:00Z), so offsets from it read as minute:second.
const HOUR_START = 1_800_000_000;
const at = (seconds: number) => Math.round((HOUR_START + seconds) * 1000);
const minute = (limit: number): Window => ({ seconds: 60, limit });
const hour = (limit: number): Window => ({ seconds: 3600, limit });
const allowed = (limit: number, remaining: number, resetAt: number): RateLimitResult => ({
  allowed: true,
  limit,
  remaining,
  resetAt,
  retryAfter: 0,
});
const refused = (limit: number, resetAt: number, retryAfter: number): RateLimitResult => ({
  allowed: false,
  limit,
  remaining: 0,
  resetAt,
  retryAfter,
});
const MINUTE_END = HOUR_START + 60;
const HOUR_END = HOUR_START + 3600;

describe('window start', () => {
  const cases: Array<[number, number, number]> = [
    [0, 60, 0],
    [59_999, 60, 0],
    [60_000, 60, 60],
    [at(30.5), 60, HOUR_START],
    [at(61), 60, HOUR_START + 60],
    [at(3599.999), 3600, HOUR_START],
    [at(3600), 3600, HOUR_END],
  ];
  for (const [nowMs, seconds, start] of cases) {
    it(`${nowMs} ms in ${seconds}-second windows starts at ${start}`, () => {
      assert.equal(windowStart(nowMs, seconds), start);
      assert.equal(windowEnd(nowMs, seconds), start + seconds);
    });
  }
});

describe('decision', () => {
  const cases: Array<[string, Window[], number[], number, RateLimitResult]> = [
    ['first request of a minute', [minute(60)], [0], at(30.5), allowed(60, 59, MINUTE_END)],
    ['last request of a minute', [minute(60)], [59], at(30.5), allowed(60, 0, MINUTE_END)],
    ['a full minute, half a second rounds up', [minute(60)], [60], at(30.5), refused(60, MINUTE_END, 30)],
    ['a count above a lowered limit', [minute(60)], [75], at(30.5), refused(60, MINUTE_END, 30)],
    ['a full minute at its very start', [minute(5)], [5], at(0), refused(5, MINUTE_END, 60)],
    ['a full minute 1 ms before its end', [minute(5)], [5], at(59.999), refused(5, MINUTE_END, 1)],
    ['the minute nearer to exhaustion', [minute(10), hour(1000)], [5, 100], at(30.5), allowed(10, 4, MINUTE_END)],
    ['the hour nearer to exhaustion', [minute(10), hour(100)], [0, 95], at(30.5), allowed(100, 4, HOUR_END)],
    ['the order of windows does not matter', [hour(1000), minute(10)], [100, 5], at(30.5), allowed(10, 4, MINUTE_END)],
    ['a tie in remaining reports the later reset', [minute(10), hour(100)], [5, 95], at(30.5), allowed(100, 4, HOUR_END)],
    ['a tie in remaining and reset reports the longer', [minute(10), hour(100)], [5, 95], at(3599.2), allowed(100, 4, HOUR_END)],
    ['the hour refuses while the minute allows', [minute(10), hour(100)], [0, 100], at(30.5), refused(100, HOUR_END, 3570)],
    ['the minute refuses while the hour allows', [minute(10), hour(100)], [10, 50], at(30.5), refused(10, MINUTE_END, 30)],
    ['both refuse: the later reset', [minute(10), hour(100)], [10, 100], at(30.5), refused(100, HOUR_END, 3570)],
    ['both refuse, same reset: the longer', [hour(100), minute(10)], [100, 10], at(3599.2), refused(100, HOUR_END, 1)],
    ['one request per second', [{ seconds: 1, limit: 1 }], [1], at(0.25), refused(1, HOUR_START + 1, 1)],
  ];
  for (const [name, windows, counts, nowMs, expected] of cases) {
    it(name, () => assert.deepEqual(decide(windows, counts, nowMs), expected));
  }

  it('counts remaining down by one per allowed request, never below zero', () => {
    const windows = [minute(5), hour(7)];
    const counts = [0, 0];
    const remaining: number[] = [];
    for (let request = 0; request < 8; request += 1) {
      const result = decide(windows, counts, at(10 + request));
      remaining.push(result.remaining);
      if (result.allowed) counts.forEach((count, index) => (counts[index] = count + 1));
    }
    assert.deepEqual(remaining, [4, 3, 2, 1, 0, 0, 0, 0]);
    assert.deepEqual(counts, [5, 5], 'refused requests counted nowhere');
  });

  it('passes a request that waits exactly retryAfter, and not one that waits a second less', () => {
    const windows = [minute(1), hour(1)];
    for (const full of [[1, 0], [0, 1], [1, 1]]) {
      for (const offsetMs of [0, 1, 500, 59_999, 60_000, 1_799_500, 3_599_000, 3_599_999]) {
        const nowMs = at(0) + offsetMs;
        const first = decide(windows, full, nowMs);
        assert.equal(first.allowed, false);
        const later = nowMs + first.retryAfter * 1000;
        // A window that has rolled over counts from zero; one that has not keeps its count.
        const countsAt = (ms: number) =>
          windows.map((window, index) => (windowStart(ms, window.seconds) === windowStart(nowMs, window.seconds) ? full[index]! : 0));
        assert.equal(decide(windows, countsAt(later), later).allowed, true, `full ${full} at +${offsetMs} ms`);
        if (first.retryAfter > 1) {
          const early = later - 1000;
          assert.equal(decide(windows, countsAt(early), early).allowed, false, `early, full ${full} at +${offsetMs} ms`);
        }
      }
    }
  });
});

describe('decision against the rule as first written', () => {
  // decide() loops for speed; this is the rule as maps and reduces, to compare on many random cases.
  function reference(windows: Window[], counts: number[], nowMs: number): RateLimitResult {
    const states = windows.map((w, i) => ({ seconds: w.seconds, limit: w.limit, count: counts[i]!, resetAt: windowEnd(nowMs, w.seconds) }));
    type S = (typeof states)[number];
    const later = (a: S, b: S) => (a.resetAt !== b.resetAt ? a.resetAt > b.resetAt : a.seconds > b.seconds);
    const full = states.filter((s) => s.count >= s.limit);
    if (full.length > 0) {
      const r = full.reduce((a, b) => (later(b, a) ? b : a));
      return { allowed: false, limit: r.limit, remaining: 0, resetAt: r.resetAt, retryAfter: Math.max(1, Math.ceil((r.resetAt * 1000 - nowMs) / 1000)) };
    }
    const left = (s: S) => s.limit - s.count - 1;
    const r = states.reduce((a, b) => (left(a) !== left(b) ? (left(b) < left(a) ? b : a) : later(b, a) ? b : a));
    return { allowed: true, limit: r.limit, remaining: left(r), resetAt: r.resetAt, retryAfter: 0 };
  }

  // Lengths that do not divide each other: a shorter window can then reset after a longer one, so the
  // reset, not the length, must pick the reported window (lengths that nest never tell the two apart).
  it('agrees on 20,000 random cases with windows that do not nest', () => {
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n);
    const lengths = [7, 45, 60, 100, 3599];
    for (let i = 0; i < 20_000; i++) {
      const windows = lengths.filter(() => random(2) === 0).map((seconds) => ({ seconds, limit: 1 + random(6) }));
      if (windows.length === 0) continue;
      const counts = windows.map((w) => random(w.limit + 2));
      const nowMs = at(random(7200) + random(1000) / 1000);
      assert.deepEqual(decide(windows, counts, nowMs), reference(windows, counts, nowMs), JSON.stringify({ windows, counts, nowMs }));
    }
  });

  it('agrees on 20,000 random cases', () => {
    let seed = 42;
    const random = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n);
    const lengths = [1, 10, 60, 300, 3600, 86_400];
    for (let i = 0; i < 20_000; i++) {
      const windows = lengths.filter(() => random(2) === 0).map((seconds) => ({ seconds, limit: 1 + random(12) }));
      if (windows.length === 0) continue;
      const counts = windows.map((w) => random(w.limit + 3));
      const nowMs = at(random(7200) + random(1000) / 1000);
      assert.deepEqual(decide(windows, counts, nowMs), reference(windows, counts, nowMs), JSON.stringify({ windows, counts, nowMs }));
    }
  });
});

describe('windows', () => {
  const invalid: Array<[string, Window[]]> = [
    ['none', []],
    ['a zero-second window', [{ seconds: 0, limit: 1 }]],
    ['a fractional window', [{ seconds: 1.5, limit: 1 }]],
    ['a zero limit', [minute(0)]],
    ['a fractional limit', [minute(2.5)]],
    ['a NaN limit', [minute(Number.NaN)]],
    ['two windows of one length', [minute(10), minute(20)]],
  ];
  for (const [name, windows] of invalid) {
    it(`refuses ${name}`, () => {
      assert.throws(() => checkWindows(windows), RangeError);
      assert.throws(() => decide(windows, windows.map(() => 0), at(0)), RangeError);
    });
  }

  it('refuses counts that do not match the windows', () => {
    assert.throws(() => decide([minute(10)], [], at(0)), RangeError);
    assert.throws(() => decide([minute(10)], [-1], at(0)), RangeError);
    assert.throws(() => decide([minute(10)], [0.5], at(0)), RangeError);
  });

  it('checks a frozen list once, and a list that can still change every time', () => {
    const frozen = frozenWindows([minute(10), hour(100)]);
    assert.ok(Object.isFrozen(frozen) && frozen.every((window) => Object.isFrozen(window)));
    assert.doesNotThrow(() => checkWindows(frozen));
    assert.throws(() => frozenWindows([minute(1), minute(2)]), RangeError);
    const open = [minute(10)];
    checkWindows(open);
    open.push(minute(20));
    assert.throws(() => checkWindows(open), RangeError, 'a list changed after its check is checked again');
    assert.ok(Object.isFrozen(keyWindows({ per_minute: 60, per_hour: null })));
  });

  it('takes 1 to 8 windows of 1 second to 31 days, and says what was wrong', () => {
    const eight = [1, 2, 3, 4, 5, 6, 7, 8].map((seconds) => ({ seconds, limit: 1 }));
    assert.doesNotThrow(() => checkWindows(eight));
    assert.throws(() => checkWindows([...eight, { seconds: 9, limit: 1 }]), { name: 'RangeError', message: 'a bucket needs 1 to 8 windows, got 9' });
    assert.throws(() => checkWindows([]), { message: 'a bucket needs 1 to 8 windows, got 0' });
    assert.doesNotThrow(() => checkWindows([{ seconds: 31 * 86_400, limit: 1 }]));
    assert.throws(() => checkWindows([{ seconds: 31 * 86_400 + 1, limit: 1 }]), { message: 'window length must be a whole number of seconds from 1 to 2678400' });
    assert.throws(() => checkWindows([minute(0)]), { message: 'window limit must be a positive integer' });
    assert.throws(() => checkWindows([minute(1), minute(2)]), { message: 'two windows of 60 seconds' });
    assert.throws(() => decide([minute(10)], [0, 0], at(0)), { message: 'one count per window' });
    assert.throws(() => decide([minute(10)], [-1], at(0)), { message: 'counts must be non-negative integers' });
    assert.throws(() => decide([minute(10)], [0], Number.NaN), { name: 'RangeError', message: 'nowMs must be a finite number' });
    assert.throws(() => decide([minute(10)], [0], Number.POSITIVE_INFINITY), RangeError);
  });

  it('returns a list it has checked as it is, and checks again a frozen list whose windows can still change', () => {
    const frozen = keyWindows({ per_minute: 60, per_hour: 1000 });
    assert.equal(frozenWindows(frozen), frozen);
    // An unfrozen list is not remembered as checked: after a change it is checked again.
    const open = [minute(10)];
    checkWindows(open);
    open[0] = minute(0);
    assert.throws(() => checkWindows(open), RangeError);
    // A frozen list of windows one of which is not frozen is not remembered either.
    const window = { seconds: 60, limit: 10 };
    const partly = Object.freeze([Object.freeze(hour(100)), window]);
    checkWindows(partly);
    window.limit = 0;
    assert.throws(() => checkWindows(partly), RangeError);
  });

  const limits: Array<[string, { per_minute: number | null; per_hour: number | null }, Window[]]> = [
    ['both', { per_minute: 60, per_hour: 1000 }, [minute(60), hour(1000)]],
    ['per minute only', { per_minute: 60, per_hour: null }, [minute(60)]],
    ['per hour only', { per_minute: null, per_hour: 1000 }, [hour(1000)]],
  ];
  for (const [name, limit, windows] of limits) it(`of a key with ${name}`, () => assert.deepEqual(keyWindows(limit), windows));
});
