import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics, one registry per app (tests build many apps in one process). Services receive
 * the few instruments they use, not the registry.
 */
export interface MetricProbes {
  cacheTrusted: () => boolean;
  cacheSize: () => number;
}

export function createMetrics(probes: MetricProbes) {
  const registry = new Registry();
  let auditQueue: () => number = () => 0;
  let deliveriesDue: () => Promise<number> = async () => 0;
  collectDefaultMetrics({ register: registry, prefix: 'latchkey_' });
  return {
    registry,
    httpRequests: new Counter({
      name: 'latchkey_http_requests_total',
      help: 'Requests answered, by route surface and status code',
      labelNames: ['surface', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'latchkey_http_request_duration_seconds',
      help: 'Time to answer, by route surface',
      labelNames: ['surface'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    keyCacheLookups: new Counter({
      name: 'latchkey_key_cache_lookups_total',
      help: 'Key verifications by where the answer came from: cache hit, or storage (miss)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    keyCacheTrusted: new Gauge({
      name: 'latchkey_key_cache_trusted',
      help: '1 while every key change reaches this instance (the cache is used), 0 while lookups bypass it',
      registers: [registry],
      collect() {
        this.set(probes.cacheTrusted() ? 1 : 0);
      },
    }),
    keyCacheEntries: new Gauge({
      name: 'latchkey_key_cache_entries',
      help: 'Verified secrets held in memory',
      registers: [registry],
      collect() {
        this.set(probes.cacheSize());
      },
    }),
    keyChangesUnconfirmed: new Counter({
      name: 'latchkey_key_changes_unconfirmed_total',
      help: 'Key changes answered after the wait bound without every live instance confirming (they had stopped trusting their caches)',
      registers: [registry],
    }),
    usageFlushFailures: new Counter({
      name: 'latchkey_usage_flush_failures_total',
      help: 'Failed writes of "last used" times (kept for the next flush), by reason: deadlock or other',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    auditWritten: new Counter({ name: 'latchkey_audit_events_written_total', help: 'Audit events written', registers: [registry] }),
    auditDropped: new Counter({
      name: 'latchkey_audit_events_dropped_total',
      help: 'Audit events dropped because the queue was full while the database was away',
      registers: [registry],
    }),
    auditRejected: new Counter({
      name: 'latchkey_audit_events_rejected_total',
      help: 'Audit events the database refused for their content (left out so that the rest are written)',
      registers: [registry],
    }),
    auditQueued: new Gauge({
      name: 'latchkey_audit_events_queued',
      help: 'Audit events waiting to be written',
      registers: [registry],
      collect() {
        this.set(auditQueue());
      },
    }),
    setAuditQueueProbe(probe: () => number) {
      auditQueue = probe;
    },
    eventDeliveries: new Counter({
      name: 'latchkey_event_deliveries_total',
      help: 'Webhook delivery attempts by outcome: delivered, retry (failed, tried again later), failed (gave up after 3 days), skipped (endpoint disabled)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    eventDeliveriesDue: new Gauge({
      name: 'latchkey_event_deliveries_due',
      help: 'Webhook deliveries due now and not yet claimed by an instance (the backlog)',
      registers: [registry],
      async collect() {
        this.set(await deliveriesDue());
      },
    }),
    setDeliveriesDueProbe(probe: () => Promise<number>) {
      deliveriesDue = probe;
    },
    rateLimitFallbacks: new Counter({
      name: 'latchkey_rate_limit_fallbacks_total',
      help: 'Rate-limit decisions made in process because Redis failed',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
