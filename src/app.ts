import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { createFastify } from './http/fastify-instance.js';
import type { Redis } from 'ioredis';
import { createAccountsRepo } from './accounts/accounts-repo.js';
import { accountsRoutes } from './accounts/accounts-routes.js';
import { createAccountsService } from './accounts/accounts-service.js';
import { createLoginThrottle } from './accounts/login-throttle.js';
import { createInvitationsRepo } from './accounts/invitations-repo.js';
import { invitationsRoutes } from './accounts/invitations-routes.js';
import { createInvitationsService } from './accounts/invitations-service.js';
import sessionPlugin from './accounts/session-plugin.js';
import { createServiceKeys } from './service-keys/service-keys.js';
import workspaceScope from './accounts/workspace-scope.js';
import type { Config } from './config.js';
import type { Db } from './db/client.js';
import { registerOpenApi } from './http/openapi.js';
import { checkPathIds } from './http/path-ids.js';
import { createKeysRepo } from './keys/keys-repo.js';
import { keysRoutes } from './keys/keys-routes.js';
import { createKeysService } from './keys/keys-service.js';
import apiAuth from './auth/api-auth-plugin.js';
import { createAuthenticator } from './auth/authenticator.js';
import { KeyCache } from './auth/key-cache.js';
import { createLocalBus, createRedisBus, type KeyChangeBus } from './auth/key-change-bus.js';
import { createUsageTracker } from './auth/usage-tracker.js';
import { currentKeyRoutes } from './api/current-key-routes.js';
import { apiRoutes } from './api/api-routes.js';
import { auditCapture } from './audit/audit-capture.js';
import { createAuditWriter } from './audit/audit-writer.js';
import { auditRoutes } from './audit/audit-routes.js';
import { runRetention } from './audit/retention.js';
import { usageRoutes } from './audit/usage-routes.js';
import { findingsRoutes } from './anomalies/findings-routes.js';
import { startDetector } from './anomalies/detector.js';
import { startLifecycleSweep } from './events/lifecycle-sweep.js';
import { demoDataRoutes } from './api/demo-data-routes.js';
import { createFallbackStore } from './ratelimit/fallback-store.js';
import { createMemoryStore } from './ratelimit/memory-store.js';
import { createRedisStore } from './ratelimit/redis-store.js';
import type { RateLimitStore } from './ratelimit/store.js';
import { createMetrics, type Metrics } from './metrics.js';
import { consoleStatic } from './console-static.js';
import { productRoutes } from './product/product-routes.js';
import { verifyRoutes } from './verify/verify-routes.js';
import { gatewaySurface } from './gateway/gateway-plugin.js';
import { createEmbedSessions } from './embed/embed-sessions.js';
import { embedRoutes } from './embed/embed-routes.js';
import { createEndpointsRepo } from './events/endpoints-repo.js';
import { endpointsRoutes } from './events/endpoints-routes.js';
import { createEndpointsService } from './events/endpoints-service.js';
import { startDeliveryWorker } from './events/delivery-worker.js';

export interface AppDeps {
  config: Config;
  db: Db;
  /** The clock; tests move it to cross an overlap's end without waiting. */
  now?: () => Date;
  logger?: FastifyBaseLogger;
  /** With Redis, rate limits and key changes are shared by every instance. The caller owns the connections. */
  redis?: { commands: Redis; subscriber: Redis };
  /** How often gathered "last used" times are written (ms). */
  usageFlushMs?: number;
  /** Off only for the benchmark that measures what the audit log costs; every deployment audits. */
  audit?: boolean;
}

/** Made-up keys a source IP may try per minute before it is refused with 429 without a lookup. */
const AUTH_FAILURES_PER_MINUTE = 30;

/** Management bodies are small JSON documents; anything larger is a mistake or an attack. */
const MANAGEMENT_BODY_LIMIT = 64 * 1024;


export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, db } = deps;
  const now = deps.now ?? (() => new Date());
  const app = createFastify(config, { logger: deps.logger, bodyLimit: MANAGEMENT_BODY_LIMIT });
  acceptEmptyJsonBodies(app);
  // Before any route is added: every route with an id in its path gets the id's shape checked.
  checkPathIds(app);

  await registerOpenApi(app, config.keyPrefix, config.product);

  const cache = new KeyCache();
  const metrics = createMetrics({ cacheTrusted: () => cache.trusted, cacheSize: () => cache.size });
  const bus: KeyChangeBus = deps.redis
    ? await createRedisBus(cache, deps.redis.commands, deps.redis.subscriber, {
        handlingDelayMs: config.testKeyChangeDelayMs,
        onUnconfirmed: (instances) => {
          metrics.keyChangesUnconfirmed.inc();
          app.log.warn({ instances }, 'key change answered without every instance confirming it; they had stopped trusting their caches');
        },
      })
    : createLocalBus(cache);
  const rateLimits = rateLimitStore(app, metrics, deps.redis?.commands);
  let lastUsageWarning = 0;
  const usage = createUsageTracker(db, deps.usageFlushMs, {
    onFlushError: (error, deadlock) => {
      metrics.usageFlushFailures.inc({ reason: deadlock ? 'deadlock' : 'other' });
      // A deadlock means the lock order broke: always logged. Other failures (the database away) at most every 10 s.
      if (!deadlock && Date.now() - lastUsageWarning < 10_000) return;
      lastUsageWarning = Date.now();
      app.log.warn({ err: error, deadlock }, 'last-used times not written yet; will retry');
    },
  });
  const auditWriter = createAuditWriter({
    db,
    onDropped: (count) => {
      metrics.auditDropped.inc(count);
      app.log.error({ dropped: count }, 'audit queue full: oldest events dropped');
    },
    onWriteError: (error, queued) => app.log.warn({ err: error, queued }, 'audit events not written yet; will retry'),
    onWritten: (count) => metrics.auditWritten.inc(count),
    // The event's id and the database's error code only: its content may be what the database refused.
    onRejected: (error, event) => {
      metrics.auditRejected.inc();
      app.log.error({ event_id: event.id, code: (error as { code?: unknown }).code }, 'audit event refused by the database: left out');
    },
  });
  metrics.setAuditQueueProbe(() => auditWriter.queued);
  // Partitions ahead of time and expired ones dropped: at start, then hourly (idempotent, any instance).
  const retention = () =>
    runRetention({ db, now, retentionDays: config.auditRetentionDays, payloadDays: config.auditPayloadDays }).catch((error: unknown) =>
      app.log.error({ err: error }, 'audit retention failed; will retry'),
    );
  await retention();
  const retentionTimer = setInterval(() => void retention(), 3_600_000);
  retentionTimer.unref();
  app.addHook('onClose', startDetector({ db, now, log: app.log }).close);
  app.addHook('onClose', startLifecycleSweep({ db, now, catalog: config.product, log: app.log }).close);
  const audit = deps.audit !== false;
  if (audit) auditCapture(app, { writer: auditWriter, now });
  app.addHook('onClose', async () => {
    clearInterval(retentionTimer);
    const { unwritten } = await auditWriter.close();
    if (unwritten > 0) app.log.error({ unwritten }, 'audit events lost at shutdown: the database stayed unreachable');
    await usage.close();
    await bus.close();
    await rateLimits.close();
  });

  const accountsRepo = createAccountsRepo();
  const accounts = createAccountsService({
    db,
    repo: accountsRepo,
    sessionTtlHours: config.sessionTtlHours,
    defaultCeilingPerMinute: config.defaultCeilingPerMinute,
    now,
    loginThrottle: createLoginThrottle(rateLimits),
    onKeyChanged: (keyId) => bus.publish(keyId),
  });
  const invitations = createInvitationsService({
    db,
    accounts: accountsRepo,
    invitations: createInvitationsRepo(),
    startSession: accounts.startSession,
    now,
  });
  const serviceKeys = createServiceKeys({ db, keyPrefix: config.keyPrefix });
  const embedSessions = createEmbedSessions({ db, keyPrefix: config.keyPrefix, product: config.product, now });
  const keysRepo = createKeysRepo();
  const keys = createKeysService({
    db,
    onKeyChanged: (keyId) => bus.publish(keyId),
    repo: keysRepo,
    workspaces: accountsRepo,
    keyPrefix: config.keyPrefix,
    catalog: config.product,
    defaultRateLimitPerMinute: config.defaultRateLimitPerMinute,
    now,
  });

  app.addHook('onResponse', (request, reply, done) => {
    const surface = request.url.startsWith('/api/') ? 'api' : request.url.startsWith('/v1/') ? 'management' : 'other';
    metrics.httpRequests.inc({ surface, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ surface }, reply.elapsedTime / 1000);
    done();
  });
  // Cache hits are counted here and handed to the counter when scraped: a labelled prom-client inc()
  // hashes its labels each time, which on the hot path costs more than the rest of the cache lookup.
  let cacheHits = 0;
  const countLookup = (result: 'hit' | 'miss') => {
    if (result === 'hit') cacheHits++;
    else metrics.keyCacheLookups.inc({ result });
  };
  app.get('/metrics', async (_request, reply) => {
    if (cacheHits > 0) metrics.keyCacheLookups.inc({ result: 'hit' }, cacheHits);
    cacheHits = 0;
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
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

  const authenticator = createAuthenticator({
    db,
    repo: keysRepo,
    cache,
    rateLimits,
    usage,
    keyPrefix: config.keyPrefix,
    isScope: config.product.isScope,
    authFailuresPerMinute: AUTH_FAILURES_PER_MINUTE,
    now,
    onLookup: countLookup,
  });

  const endpoints = createEndpointsService({ db, repo: createEndpointsRepo(), now, allowPrivateNetworks: config.events.allowPrivateNetworks });

  // The management API: one encapsulated context with its own session and workspace checks.
  await app.register(async (management) => {
    await management.register(sessionPlugin, { accounts, serviceKeys, embedSessions, cookieSecure: config.cookieSecure });
    await management.register(workspaceScope, { accounts });
    await management.register(accountsRoutes, { accounts, cookieSecure: config.cookieSecure });
    await management.register(invitationsRoutes, { invitations, cookieSecure: config.cookieSecure });
    await management.register(productRoutes, { product: config.product });
    await management.register(keysRoutes, { keys });
    await management.register(demoDataRoutes, { db, now });
    await management.register(auditRoutes, { db, now, payloadDays: config.auditPayloadDays });
    await management.register(usageRoutes, { db, now });
    await management.register(findingsRoutes, { db, now });
    await management.register(verifyRoutes, { authenticator, product: config.product, now });
    await management.register(embedRoutes, { embedSessions, publicUrl: config.publicUrl });
    await management.register(endpointsRoutes, { endpoints });
  });

  // The protected API: every route behind an API key, its scope declared on the route.
  await app.register(async (api) => {
    await api.register(apiAuth, { authenticator });
    await api.register(currentKeyRoutes, { keys, selfRotation: config.product.isScope('keys:rotate_self') });
    // The reference product's own resources; a product file's API lives behind verify, the SDK or the gateway.
    if (config.product.reference) await api.register(apiRoutes, { db, now, endpoints });
  });

  // Webhook deliveries: this instance's share of the outbox, claimed from the database (src/events/).
  startDeliveryWorker(app, { db, now, events: config.events, metrics });

  // Gateway mode: a listener of its own in front of the product's API, through the same authenticator and audit log.
  await gatewaySurface(app, { config, db, now, authenticator, auditWriter: audit ? auditWriter : null, metrics });

  // The console: the built single-page app at `/`, talking to the management API above.
  await consoleStatic(app, { embedOrigins: config.product.embed.allowedOrigins });

  return app;
}

function rateLimitStore(app: FastifyInstance, metrics: Metrics, redis: Redis | undefined): RateLimitStore {
  const local = createMemoryStore();
  if (!redis) return local;
  let lastWarning = 0;
  return createFallbackStore(createRedisStore(redis), local, (error) => {
    metrics.rateLimitFallbacks.inc();
    // One line per 10 s is enough to say Redis is away; one per request would flood the log.
    if (Date.now() - lastWarning < 10_000) return;
    lastWarning = Date.now();
    app.log.warn({ err: error }, 'Redis rate limits unavailable; counting in this instance until it is back');
  });
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
