import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../db/client.js';

export interface AuditRoutesOptions {
  db: Db;
  now: () => Date;
  payloadDays: number;
}

/** Search, one event with its payload, export; and the management log's search. (Being built.) */
export const auditRoutes: FastifyPluginAsyncZod<AuditRoutesOptions> = async () => {};
