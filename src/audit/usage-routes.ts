import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../db/client.js';

export interface UsageRoutesOptions {
  db: Db;
  now: () => Date;
}

/** A key's usage over the last days and the workspace's anomalies. (Being built.) */
export const usageRoutes: FastifyPluginAsyncZod<UsageRoutesOptions> = async () => {};
