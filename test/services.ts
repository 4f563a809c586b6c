import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

export { describeOrSkip } from './skip.js';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisReachable(): Promise<string | null> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (error) {
    return `Redis at ${TEST_REDIS_URL} is unreachable (${(error as Error).message})`;
  } finally {
    redis.disconnect();
  }
}

/** Why the suites that need only Redis skip, or null; under CI=true it throws instead of skipping. */
export async function redisSkipReason(): Promise<string | null> {
  const reason = await redisReachable();
  if (reason && process.env.CI === 'true') throw new Error(`${reason}; CI=true requires Redis, so the suite fails rather than skips`);
  if (reason) process.stderr.write(`# skipping: ${reason}\n`);
  return reason;
}

async function postgresReachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return null;
  } catch (error) {
    return `PostgreSQL is unreachable (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Why the PostgreSQL suites skip, or null when they run. Under CI=true an unreachable server fails the run instead. */
export const postgresSkipReason: string | null = await (async () => {
  const reason = await postgresReachable();
  if (reason && process.env.CI === 'true') throw new Error(`${reason}; CI=true requires PostgreSQL, so the suite fails rather than skips`);
  if (reason) process.stderr.write(`# skipping PostgreSQL suites: ${reason}\n`);
  return reason;
})();

/** Why a suite that needs PostgreSQL and Redis skips, or null; under CI=true it throws instead of skipping. */
export async function productionServicesSkipReason(): Promise<string | null> {
  const reasons = (await Promise.all([postgresReachable(), redisReachable()])).filter((r): r is string => r !== null);
  if (reasons.length === 0) return null;
  const reason = reasons.join('; ');
  if (process.env.CI === 'true') throw new Error(`${reason}; CI=true requires both, so the suite fails rather than skips`);
  process.stderr.write(`# skipping: ${reason}\n`);
  return reason;
}

/** A throwaway PostgreSQL database for one suite. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `latchkey_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}
