import { Redis } from 'ioredis';
import pg from 'pg';

import { HOST_TAG, isStaleTestDatabase, processAlive, TEST_DATABASE_PREFIX, testDatabaseName } from './test-databases.js';

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

/**
 * Drops the test databases that interrupted runs left behind (see test-databases.ts), once per process,
 * before its first database is made. Suites run concurrently: a database a live process made within
 * the hour is never touched.
 */
async function dropLeftovers(): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    const list = async (withAge: boolean) =>
      (
        await admin.query<{ datname: string; created: number | null }>(
          `select datname, ${withAge ? "extract(epoch from (pg_stat_file('base/' || oid || '/PG_VERSION')).modification)::float8" : 'null'} as created
           from pg_database where datname like $1`,
          [`${TEST_DATABASE_PREFIX.replace(/_/g, '\\_')}%`],
        )
      ).rows;
    // The age of a database named the old way needs pg_stat_file (a superuser's, as the tests' trust
    // login is); without it such names are left alone.
    const rows = await list(true).catch(() => list(false));
    const nowSeconds = Math.floor(Date.now() / 1000);
    for (const { datname, created } of rows) {
      if (!isStaleTestDatabase(datname, { nowSeconds, host: HOST_TAG, alive: processAlive, createdSeconds: created ?? undefined })) continue;
      await admin.query(`drop database if exists ${datname} with (force)`).catch(() => {});
    }
  } finally {
    await admin.end();
  }
}

let leftoversDropped: Promise<void> | undefined;

/** A throwaway PostgreSQL database for one suite. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  leftoversDropped ??= dropLeftovers().catch((error: unknown) => {
    process.stderr.write(`# could not drop leftover test databases: ${(error as Error).message}\n`);
  });
  await leftoversDropped;
  const name = testDatabaseName();
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
