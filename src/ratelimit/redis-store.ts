import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { checkCost, checkWindows, decide, windowEnd, windowStart, type RateLimitResult, type Window } from './decision.js';
import { checkBucket, storeClosedError, type RateLimitStore } from './store.js';

/** Only what the store uses of the client, so that a Cluster or a test double fits as well. */
export type RedisScripting = Pick<Redis, 'evalsha' | 'eval'>;

/**
 * A counter outlives its window by this much, so that an instance whose clock runs slightly behind
 * still finds the window's count instead of recreating it at zero and letting extra requests through.
 */
export const EXPIRY_MARGIN_SECONDS = 5;

/**
 * One counter per bucket, window length and window. The `{bucket}` hash tag puts all of a bucket's
 * counters on one Redis Cluster slot, which a script touching several keys requires.
 */
export function counterKey(bucket: string, seconds: number, start: number): string {
  return `latchkey:rl:{${bucket}}:${seconds}:${start}`;
}

/**
 * The atomic part of the rule, and only that: Redis runs a script with nothing in between, so the
 * read, the check and the increment cannot interleave with another instance's. Which window to
 * report and when to retry are worked out by decide() from the counts it returns.
 *
 * KEYS[i]: the counter of window i. ARGV[i]: its limit. ARGV[n + i]: the Unix second it may expire.
 * ARGV[2n + 1]: the request's cost (units it takes in every window).
 * Returns {allowed (1 or 0), count of window 1 before this request, ..., count of window n}.
 */
const CONSUME_LUA = `
local n = #KEYS
local cost = tonumber(ARGV[2 * n + 1])
local reply = {1}
for i = 1, n do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  reply[i + 1] = count
  if count + cost > tonumber(ARGV[i]) then reply[1] = 0 end
end
if reply[1] == 1 then
  for i = 1, n do
    redis.call('INCRBY', KEYS[i], cost)
    redis.call('EXPIREAT', KEYS[i], ARGV[n + i])
  end
end
return reply
`;

const CONSUME_SHA = createHash('sha1').update(CONSUME_LUA).digest('hex');

/**
 * Rate limits shared by every instance that talks to the same Redis, exact across them.
 *
 * Time is the caller's `nowMs`, not Redis TIME, so that decide() and the script agree on which window
 * a request falls in. Instances must therefore keep their clocks synchronized (NTP): one that is off
 * by a second counts a second's worth of requests in the wrong window.
 *
 * The client belongs to the caller (it may serve other features too): close() does not quit it.
 */
export function createRedisStore(redis: RedisScripting): RateLimitStore {
  let closed = false;
  return {
    async consume(bucket: string, windows: readonly Window[], nowMs: number, cost = 1): Promise<RateLimitResult> {
      if (closed) throw storeClosedError();
      checkBucket(bucket);
      checkWindows(windows);
      checkCost(cost);
      const keys = windows.map((window) => counterKey(bucket, window.seconds, windowStart(nowMs, window.seconds)));
      const limits = windows.map((window) => window.limit);
      const expiries = windows.map((window) => windowEnd(nowMs, window.seconds) + EXPIRY_MARGIN_SECONDS);
      const reply = parseReply(await runScript(redis, keys, [...limits, ...expiries, cost]), windows.length);
      const result = decide(windows, reply.counts, nowMs, cost);
      // Both apply the same rule to the same counts; a disagreement is a bug in one of them.
      if (result.allowed !== reply.allowed) throw new Error('rate-limit script and decide() disagree');
      return result;
    },
    async close(): Promise<void> {
      closed = true;
    },
  };
}

/** EVALSHA spares sending the script each time; Redis forgets scripts on restart or SCRIPT FLUSH, hence EVAL. */
async function runScript(redis: RedisScripting, keys: string[], args: number[]): Promise<unknown> {
  try {
    return await redis.evalsha(CONSUME_SHA, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(CONSUME_LUA, keys.length, ...keys, ...args);
  }
}

function parseReply(reply: unknown, windowCount: number): { allowed: boolean; counts: number[] } {
  if (!Array.isArray(reply) || reply.length !== windowCount + 1 || !reply.every((value) => typeof value === 'number')) {
    throw new Error('unexpected reply from the rate-limit script');
  }
  const [allowed, ...counts] = reply as number[];
  return { allowed: allowed === 1, counts };
}
