import { once } from 'node:events';
import { Redis } from 'ioredis';

export interface RedisConnections {
  commands: Redis;
  subscriber: Redis;
  close(): Promise<void>;
}

/**
 * Two connections: one for commands (rate-limit scripts, publishing key changes) and one that only
 * subscribes, as Redis requires. Commands fail at once while Redis is away (no offline queue), so the
 * rate limiter falls back to this instance's counts instead of making requests wait.
 */
export async function connectRedis(url: string, timeoutMs = 10_000): Promise<RedisConnections> {
  const options = { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, lazyConnect: true };
  const commands = new Redis(url, options);
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
