import type { Redis } from 'ioredis';
import type { KeyCache } from './key-cache.js';

/**
 * How a change to a key (revoke, rotate, version revoke, scopes, limits, allowlist) reaches every
 * instance's cache before its next request. Locally it simply forgets the key; with Redis it also
 * broadcasts, and every instance forgets it when the message arrives.
 */
export interface KeyChangeBus {
  /** Resolves once the change is forgotten here and handed to the broadcast. */
  publish(keyId: string): Promise<void>;
  close(): Promise<void>;
}

export function createLocalBus(cache: KeyCache): KeyChangeBus {
  return {
    async publish(keyId) {
      cache.invalidateKey(keyId);
    },
    async close() {},
  };
}

export const KEY_CHANGES_CHANNEL = 'latchkey:key-changes';

/** Announcements kept for sending again while the publisher is away; beyond that, the oldest go. */
const MAX_UNSENT = 10_000;

/**
 * A Redis that hangs (a frozen process, a network that drops packets) closes no connection, so the
 * subscriber also PINGs: no answer within the timeout, and the cache is not trusted until one comes.
 */
export const HEARTBEAT_INTERVAL_MS = 250;
export const HEARTBEAT_TIMEOUT_MS = 500;

/**
 * When a change could not be announced, its answer waits this long: longer than every other instance
 * takes to notice that Redis stopped answering (an interval plus a timeout), so that from the answer on
 * each of them reads storage. Only management calls made while Redis fails pay it.
 */
export const FAILED_ANNOUNCEMENT_WAIT_MS = 1000;

/**
 * Redis pub/sub delivers at most once, and nothing while a subscriber is disconnected. So the cache is
 * trusted only while the subscription is live and answers its heartbeat: when the connection drops or
 * Redis stops answering, every lookup goes to storage (revocation stays immediate, at the cost of speed),
 * and when it is back the cache starts empty.
 */
export async function createRedisBus(cache: KeyCache, publisher: Redis, subscriber: Redis): Promise<KeyChangeBus> {
  cache.setTrusted(false);
  let subscribed = false;
  subscriber.on('message', (channel: string, keyId: string) => {
    if (channel === KEY_CHANGES_CHANNEL) cache.invalidateKey(keyId);
  });
  const dropped = () => {
    subscribed = false;
    cache.setTrusted(false);
  };
  subscriber.on('close', dropped);
  subscriber.on('end', dropped);
  subscriber.on('reconnecting', dropped);
  subscriber.on('error', () => cache.setTrusted(false));
  const resubscribe = async () => {
    try {
      await subscriber.subscribe(KEY_CHANGES_CHANNEL);
      subscribed = true;
      cache.setTrusted(true);
    } catch {
      cache.setTrusted(false);
    }
  };
  subscriber.on('ready', () => void resubscribe());
  if (subscriber.status === 'ready') await resubscribe();

  // A change is committed before it is announced, so an announcement that fails must not fail the change:
  // it is kept and sent again once the publisher answers. While Redis itself is away nothing is lost
  // meanwhile, since every subscription dropped or stopped answering too and every instance reads storage.
  const unsent = new Set<string>();
  const announce = async (keyId: string): Promise<boolean> => {
    try {
      await publisher.publish(KEY_CHANGES_CHANNEL, keyId);
      unsent.delete(keyId);
      return true;
    } catch {
      if (unsent.size >= MAX_UNSENT && !unsent.has(keyId)) unsent.delete(unsent.values().next().value as string);
      unsent.add(keyId);
      return false;
    }
  };
  let resending = false;
  const resend = async () => {
    if (resending || unsent.size === 0) return;
    resending = true;
    await Promise.all([...unsent].map(announce));
    resending = false;
  };
  publisher.on('ready', () => void resend());

  let beating = false;
  const beat = async () => {
    if (beating || subscriber.status !== 'ready') return;
    beating = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('heartbeat timed out')), HEARTBEAT_TIMEOUT_MS)));
    try {
      await Promise.race([subscriber.ping(), timeout]);
      cache.setTrusted(subscribed);
      void resend();
    } catch {
      cache.setTrusted(false);
    } finally {
      clearTimeout(timer);
      beating = false;
    }
  };
  const heartbeat = setInterval(() => void beat(), HEARTBEAT_INTERVAL_MS);
  heartbeat.unref();

  return {
    async publish(keyId) {
      cache.invalidateKey(keyId);
      if (!(await announce(keyId))) await new Promise((resolve) => setTimeout(resolve, FAILED_ANNOUNCEMENT_WAIT_MS));
    },
    async close() {
      clearInterval(heartbeat);
      cache.setTrusted(false);
    },
  };
}
