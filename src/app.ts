import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { createAccountsRepo } from './accounts/accounts-repo.js';
import { accountsRoutes } from './accounts/accounts-routes.js';
import { createAccountsService } from './accounts/accounts-service.js';
import sessionPlugin from './accounts/session-plugin.js';
import workspaceScope from './accounts/workspace-scope.js';
import type { Config } from './config.js';
import type { Db } from './db/client.js';
import { installErrorHandling } from './http/error-handler.js';
import { newId } from './ids.js';
import { createKeysRepo } from './keys/keys-repo.js';
import { keysRoutes } from './keys/keys-routes.js';
import { createKeysService } from './keys/keys-service.js';

export interface AppDeps {
  config: Config;
  db: Db;
  /** The clock; tests move it to cross an overlap's end without waiting. */
  now?: () => Date;
  logger?: FastifyBaseLogger;
}

/** Management bodies are small JSON documents; anything larger is a mistake or an attack. */
const MANAGEMENT_BODY_LIMIT = 64 * 1024;

/** Headers that carry credentials: never written to a log line. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
];

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, db } = deps;
  const now = deps.now ?? (() => new Date());
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: { level: config.logLevel, redact: REDACTED_LOG_PATHS } }),
    trustProxy: trustProxyOption(config.trustProxy),
    genReqId: () => newId('req'),
    requestIdHeader: false,
    bodyLimit: MANAGEMENT_BODY_LIMIT,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  acceptEmptyJsonBodies(app);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('Request-Id', request.id);
  });

  const accountsRepo = createAccountsRepo();
  const accounts = createAccountsService({
    db,
    repo: accountsRepo,
    sessionTtlHours: config.sessionTtlHours,
    defaultCeilingPerMinute: config.defaultCeilingPerMinute,
    now,
  });
  const keys = createKeysService({
    db,
    repo: createKeysRepo(),
    workspaces: accountsRepo,
    keyPrefix: config.keyPrefix,
    defaultRateLimitPerMinute: config.defaultRateLimitPerMinute,
    now,
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'database unreachable' });
    }
  });

  // The management API: one encapsulated context with its own session and workspace checks.
  await app.register(async (management) => {
    await management.register(sessionPlugin, { accounts, cookieSecure: config.cookieSecure });
    await management.register(workspaceScope, { accounts });
    await management.register(accountsRoutes, { accounts, cookieSecure: config.cookieSecure });
    await management.register(keysRoutes, { keys });
  });

  return app;
}

/** A hop count trusts that many proxies in front of us (the same rule proxy-addr applies to a number). */
function trustProxyOption(trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return trust;
}

/**
 * A POST with `Content-Type: application/json` and no body (curl -X POST, fetch without a body) means
 * "no options", not a syntax error; everything else goes through Fastify's own safe JSON parser.
 */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, undefined);
    parseJson(request, body.toString(), done);
  });
}
