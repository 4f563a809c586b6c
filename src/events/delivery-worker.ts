import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { Metrics } from '../metrics.js';
import { claimDue, countDue, finishAttempt, skipDisabled, type ClaimedDelivery, type Outcome } from './delivery-repo.js';
import { afterFailure, LEASE_PER_TIMEOUT } from './delivery-schedule.js';
import { createSender, SEND_TIMEOUT_MS, type Sender } from './safe-fetch.js';
import { signatureHeader } from './signing.js';

export interface DeliveryWorkerDeps {
  db: Db;
  now: () => Date;
  events: Config['events'];
  metrics: Pick<Metrics, 'eventDeliveries' | 'setDeliveriesDueProbe'>;
}

/** How long closing waits for the sends under way before it drops them (their leases then expire and they are sent again). */
const CLOSE_WAIT_MS = 5_000;
/** How long a /metrics scrape waits for the backlog's count before it shows the last one known. */
const DUE_PROBE_WAIT_MS = 250;
/** At most one warning per endpoint in this time: an endpoint that is down fails every delivery, and says so once. */
const WARN_EVERY_MS = 10_000;

/**
 * Management changes under these paths may have written events (keys, members, endpoints' test and retry):
 * their answer wakes the worker, so their deliveries leave now rather than at the next poll. Other writes,
 * and POST /v1/keys/verify on the hot path above all, do not cost a claim.
 */
const WAKING_PATHS = ['/v1/workspaces/', '/v1/event-endpoints'];

/**
 * The webhook delivery worker of this instance: every `pollMs` (and after a management change that may
 * have emitted an event), it claims due deliveries up to `concurrency` in flight, signs and sends each
 * through the safe sender, and records the attempt and what follows (delivered, retried later with
 * backoff, failed after 3 days, the endpoint disabled when everything failed). Instances share the work
 * through the claim (FOR UPDATE SKIP LOCKED and a lease), with no other coordination.
 */
export function startDeliveryWorker(app: FastifyInstance, deps: DeliveryWorkerDeps): { wake(): void; close(): Promise<void> } {
  const { db, now, events, metrics } = deps;
  const log: FastifyBaseLogger = app.log.child({ component: 'delivery-worker' });
  const timeoutMs = events.timeoutMs ?? SEND_TIMEOUT_MS;
  const leaseMs = timeoutMs * LEASE_PER_TIMEOUT;
  const sender: Sender = createSender({ allowPrivateNetworks: events.allowPrivateNetworks, timeoutMs });
  const sends = new Set<Promise<void>>();
  const lastWarning = new Map<string, number>();
  let stopping = false;
  let ticking = false;
  let again = false;
  // The last claim took all it could: more may be due, so a finished send claims again at once.
  let backlog = false;

  // The backlog gauge counts in the database, but a scrape must not wait for it: /metrics is what an
  // operator reads while the database is away. One count at a time; past DUE_PROBE_WAIT_MS, the last known.
  let lastDue = 0;
  let counting: Promise<void> | null = null;
  metrics.setDeliveriesDueProbe(async () => {
    counting ??= countDue(db, now())
      .then((due) => void (lastDue = due), () => {})
      .finally(() => (counting = null));
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([counting, new Promise<void>((resolve) => (bound = setTimeout(resolve, DUE_PROBE_WAIT_MS)))]);
    clearTimeout(bound);
    return lastDue;
  });

  function warnThrottled(key: string, fields: Record<string, unknown>, message: string): void {
    const at = Date.now();
    if ((lastWarning.get(key) ?? 0) > at - WARN_EVERY_MS) return;
    if (lastWarning.size > 1000) for (const [k, t] of lastWarning) if (t <= at - WARN_EVERY_MS) lastWarning.delete(k);
    lastWarning.set(key, at);
    log.warn(fields, message);
  }

  let currentTick: Promise<void> = Promise.resolve();
  function tick(): Promise<void> {
    if (ticking) {
      again = true;
      return currentTick;
    }
    ticking = true;
    currentTick = claimAndSend();
    return currentTick;
  }

  async function claimAndSend(): Promise<void> {
    try {
      do {
        again = false;
        const room = events.concurrency - sends.size;
        if (room <= 0 || stopping) break;
        const claimed = await claimDue(db, now(), leaseMs, room);
        backlog = claimed.length === room;
        for (const delivery of claimed) track(deliver(delivery));
      } while (again && !stopping);
    } catch (error) {
      warnThrottled('claim', { err: error }, 'could not claim webhook deliveries; will retry');
    } finally {
      ticking = false;
    }
  }

  function track(send: Promise<void>): void {
    const tracked: Promise<void> = send
      .catch((error: unknown) => warnThrottled('record', { err: error }, 'webhook attempt not recorded; its lease will expire and it will be sent again'))
      .finally(() => {
        sends.delete(tracked);
        // Claims in batches of at least half the room: one claim per finished send would double the statements.
        if (backlog && !stopping && events.concurrency - sends.size >= Math.ceil(events.concurrency / 2)) void tick();
      });
    sends.add(tracked);
  }

  async function deliver(delivery: ClaimedDelivery): Promise<void> {
    if (!delivery.enabled) {
      await skipDisabled(db, delivery);
      metrics.eventDeliveries.inc({ outcome: 'skipped' });
      return;
    }
    const startedAt = now();
    const result =
      delivery.secrets.length === 0
        ? { statusCode: null, error: 'not sent: the endpoint has no signing secret', excerpt: null, durationMs: 0 }
        : await sender.send(delivery.url, delivery.body, {
            'content-type': 'application/json',
            'user-agent': 'Latchkey-Webhooks/1',
            'latchkey-signature': signatureHeader(delivery.body, delivery.secrets, Math.floor(startedAt.getTime() / 1000)),
            'latchkey-event-id': delivery.eventId,
            'latchkey-event-type': delivery.eventType,
          });
    const delivered = result.error === null && result.statusCode !== null;
    const finishedAt = now();
    const outcome: Outcome = delivered ? { status: 'delivered' } : afterFailure(delivery, finishedAt, events.retryScale);
    const { disabled } = await finishAttempt(
      db,
      delivery,
      { startedAt, durationMs: result.durationMs, statusCode: result.statusCode, error: result.error, excerpt: result.excerpt },
      outcome,
      finishedAt,
    );
    metrics.eventDeliveries.inc({ outcome: outcome.status === 'pending' ? 'retry' : outcome.status });
    // Ids, the status and the error only: never the body, the URL's path or query, nor a secret.
    const fields = { delivery_id: delivery.id, endpoint_id: delivery.endpointId, event_type: delivery.eventType, attempt: delivery.attempts, status_code: result.statusCode, error: result.error };
    if (disabled) log.warn(fields, 'webhook endpoint disabled: every delivery failed for 3 days');
    else if (outcome.status === 'failed') log.warn(fields, 'webhook delivery failed for 3 days; given up');
    else if (outcome.status === 'pending') warnThrottled(delivery.endpointId, fields, 'webhook delivery failed; will retry');
  }

  const timer = setInterval(() => void tick(), events.pollMs);
  timer.unref();
  void tick();

  app.addHook('onResponse', (request, reply, done) => {
    if (request.method !== 'GET' && reply.statusCode < 300 && WAKING_PATHS.some((path) => request.url.startsWith(path))) wake();
    done();
  });

  let wakeScheduled = false;
  function wake(): void {
    if (wakeScheduled || stopping) return;
    wakeScheduled = true;
    setImmediate(() => {
      wakeScheduled = false;
      void tick();
    });
  }

  async function close(): Promise<void> {
    stopping = true;
    clearInterval(timer);
    await currentTick;
    let bound: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      Promise.allSettled([...sends]).then(() => true),
      new Promise<boolean>((resolve) => (bound = setTimeout(() => resolve(false), CLOSE_WAIT_MS))),
    ]);
    clearTimeout(bound);
    if (waited) await sender.close();
    else await sender.destroy();
  }

  app.addHook('onClose', close);
  return { wake, close };
}
