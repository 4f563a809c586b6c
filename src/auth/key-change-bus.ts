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
 * Redis pub/sub delivers at most once, and nothing while a subscriber is disconnected. So the cache is
 * trusted only while the subscription is live: when the connection drops, every lookup goes to storage
 * (revocation stays immediate, at the cost of speed), and when it is back the cache starts empty.
 */
export async function createRedisBus(cache: KeyCache, publisher: Redis, subscriber: Redis): Promise<KeyChangeBus> {
  cache.setTrusted(false);
  subscriber.on('message', (channel: string, keyId: string) => {
    if (channel === KEY_CHANGES_CHANNEL) cache.invalidateKey(keyId);
  });
  const distrust = () => cache.setTrusted(false);
  subscriber.on('close', distrust);
  subscriber.on('end', distrust);
  subscriber.on('reconnecting', distrust);
  subscriber.on('error', distrust);
  const resubscribe = async () => {
    try {
      await subscriber.subscribe(KEY_CHANGES_CHANNEL);
      cache.setTrusted(true);
    } catch {
      cache.setTrusted(false);
    }
  };
  subscriber.on('ready', () => void resubscribe());
  if (subscriber.status === 'ready') await resubscribe();

  // A change is committed before it is announced, so an announcement that fails must not fail the change:
  // it is kept and sent again once the publisher is back. While Redis itself is away nothing is lost
  // meanwhile, since every subscription dropped too and every instance reads storage until it is back.
  const unsent = new Set<string>();
  const announce = async (keyId: string) => {
    try {
      await publisher.publish(KEY_CHANGES_CHANNEL, keyId);
      unsent.delete(keyId);
    } catch {
      if (unsent.size >= MAX_UNSENT && !unsent.has(keyId)) unsent.delete(unsent.values().next().value as string);
      unsent.add(keyId);
    }
  };
  publisher.on('ready', () => void Promise.all([...unsent].map(announce)));

  return {
    async publish(keyId) {
      cache.invalidateKey(keyId);
      await announce(keyId);
    },
    async close() {
      cache.setTrusted(false);
    },
  };
}
