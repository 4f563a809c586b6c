import { buildApp, type AppDeps } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { migrateToLatest } from './db/migrate.js';
import { warnOfInertScopes } from './product/inert-scopes.js';
import { connectRedis } from './redis.js';

/**
 * config -> dependencies -> listen, and a graceful stop on SIGTERM/SIGINT. `main.ts` runs it as is;
 * the benchmarks run it with `audit: false` to measure what the audit log costs.
 */
export async function serve(overrides: Pick<AppDeps, 'audit'> = {}): Promise<void> {
  const config = loadConfig(process.env);
  const { db, kind } = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  await migrateToLatest(db);
  const redis = config.redisUrl ? await connectRedis(config.redisUrl) : undefined;
  const app = await buildApp({ config, db, ...(redis ? { redis } : {}), ...overrides });
  await warnOfInertScopes(db, config.product, app.log);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await redis?.close();
    await db.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const address = await app.listen({ port: config.port, host: config.host });
  const storage = (kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL') + (redis ? ' + Redis' : '');
  app.log.info({ address, storage, key_prefix: config.keyPrefix }, `Latchkey is listening on ${address} (${storage})`);
  if (app.gateway) {
    const gateway = await app.gateway.listen({ port: config.gatewayPort, host: config.host });
    app.log.info({ address: gateway }, `Latchkey's gateway is listening on ${gateway}`);
  }
}

/** The one place that exits the process on a failed start. */
export function exitOnStartFailure(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`Latchkey could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
}
