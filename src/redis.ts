import { once } from 'node:events';
import { Redis } from 'ioredis';

export interface RedisConnections {
  commands: Redis;
  subscriber: Redis;
  close(): Promise<void>;
}

/**
 * A command to a Redis that hangs (a frozen process, a network that drops packets) gets no answer and no
 * closed connection: without a bound, every request waiting on its rate limit would hang with it.
 */
export const COMMAND_TIMEOUT_MS = 500;

/**
 * Two connections: one for commands (rate-limit scripts, publishing key changes) and one that only
 * subscribes, as Redis requires. Commands fail at once while Redis is away (no offline queue), or after
 * COMMAND_TIMEOUT_MS when it hangs, so the rate limiter falls back to this instance's counts instead of
 * making requests wait.
 */
export async function connectRedis(url: string, timeoutMs = 10_000): Promise<RedisConnections> {
  const options = { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, lazyConnect: true };
  const commands = new Redis(url, { ...options, commandTimeout: COMMAND_TIMEOUT_MS });
  // The subscriber has no command timeout: SUBSCRIBE waits for Redis; the bus checks it with PINGs of its own.
  const subscriber = new Redis(url, { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null });
  // Errors are reported by the rate limiter and the bus; an unhandled 'error' event would crash the process.
  commands.on('error', () => {});
  subscriber.on('error', () => {});
  const ready = (redis: Redis) =>
    Promise.race([
      redis.connect(),
      once(redis, 'end').then(() => Promise.reject(new Error('Redis closed the connection'))),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  await Promise.all([ready(commands), ready(subscriber)]);
  return {
    commands,
    subscriber,
    async close() {
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
