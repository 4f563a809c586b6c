import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { KeyCache } from './key-cache.js';

/**
 * How a change to a key (revoke, rotate, version revoke, scopes, limits, allowlist) reaches every
 * instance's cache before its next request. Locally it simply forgets the key; with Redis it also
 * broadcasts, and answers only once every live instance has confirmed it forgot the key, or once any
 * that did not has stopped trusting its cache.
 */
export interface KeyChangeBus {
  /** Resolves once no instance's cache can answer for the key's old state. */
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
/** Where an instance hears the confirmations of the changes it announced: `latchkey:key-change-acks:<instance id>`. */
export const ACK_CHANNEL_PREFIX = 'latchkey:key-change-acks:';
/** Live instances: a sorted set of instance ids, scored by Redis's clock (ms) at their last heartbeat. */
export const INSTANCES_KEY = 'latchkey:instances';

/** Announcements kept for sending again while the publisher is away; beyond that, the oldest go. */
const MAX_UNSENT = 10_000;

/**
 * A Redis that hangs (a frozen process, a network that drops packets) closes no connection, so the
 * subscriber also PINGs: no answer within the timeout, and the cache is not trusted until one comes.
 */
export const HEARTBEAT_INTERVAL_MS = 250;
export const HEARTBEAT_TIMEOUT_MS = 500;

/**
 * The rule that makes revocation a guarantee rather than a race. An instance trusts its cache only until
 * TRUST_MS after sending the last heartbeat that succeeded, and a heartbeat succeeds when both
 *  - its PING on the subscriber connection is answered: Redis sends a connection's messages in order, so
 *    every change announced before the PING was received (and forgotten, synchronously) before its PONG;
 *  - its entry in INSTANCES_KEY is refreshed, kept there INSTANCE_TTL_MS by Redis's clock, longer than trust.
 * The changing instance waits for a confirmation from every instance in INSTANCES_KEY, at most
 * ACK_WAIT_MS from when Redis accepted the announcement. Any instance still trusting its cache after that
 * sent a heartbeat after the announcement, so heard it; and any instance trusting its cache at all is in
 * INSTANCES_KEY, so was waited for. Hence ACK_WAIT_MS >= TRUST_MS.
 */
export const TRUST_MS = 1000;
export const ACK_WAIT_MS = TRUST_MS;
export const INSTANCE_TTL_MS = 3000;

/**
 * When a change could not be announced, its answer waits this long: longer than every other instance
 * keeps trusting its cache without a heartbeat (TRUST_MS), so that from the answer on each of them
 * reads storage. Only management calls made while Redis fails pay it.
 */
export const FAILED_ANNOUNCEMENT_WAIT_MS = TRUST_MS;

/** Refreshes this instance's heartbeat and drops expired ones, by Redis's clock. */
const HEARTBEAT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return now
`;

/** Announces a change and returns, atomically with it, the instances that must confirm it. */
const ANNOUNCE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[3]), '+inf')
redis.call('PUBLISH', ARGV[1], ARGV[2])
return live
`;

export interface RedisBusOptions {
  /** Test hook only: delays this instance's handling of each announced change (keep it below ACK_WAIT_MS). */
  handlingDelayMs?: number;
  /** A change answered after ACK_WAIT_MS without the confirmation of these instances (each distrusts its cache by then). */
  onUnconfirmed?: (instances: string[]) => void;
}

/** `<from> <change id> <key id>`; an announcement without spaces is a key id alone (no confirmation wanted). */
function parseAnnouncement(message: string): { from: string; changeId: string; keyId: string } | { keyId: string } {
  const [from, changeId, keyId] = message.split(' ');
  return changeId !== undefined && keyId !== undefined ? { from: from!, changeId, keyId } : { keyId: message };
}

/**
 * Redis pub/sub delivers at most once, and nothing while a subscriber is disconnected. So the cache is
 * trusted only while the subscription is live and heartbeats succeed (see TRUST_MS): when the connection
 * drops or Redis stops answering, every lookup goes to storage (revocation stays immediate, at the cost
 * of speed), and when it is back the cache starts empty.
 */
export async function createRedisBus(cache: KeyCache, publisher: Redis, subscriber: Redis, options: RedisBusOptions = {}): Promise<KeyChangeBus> {
  const instanceId = randomBytes(9).toString('base64url');
  const ackChannel = ACK_CHANNEL_PREFIX + instanceId;
  const delay = options.handlingDelayMs ?? 0;
  cache.setTrusted(false);
  let subscribed = false;
  let closed = false;

  /** Changes this instance announced and waits on: who confirmed so far, and who must. */
  const waiting = new Map<string, { confirmed: Set<string>; expected: Set<string> | undefined; done: () => void }>();
  const settleIfConfirmed = (changeId: string) => {
    const change = waiting.get(changeId);
    if (change?.expected && [...change.expected].every((id) => change.confirmed.has(id))) change.done();
  };

  const handle = (message: string) => {
    const change = parseAnnouncement(message);
    cache.invalidateKey(change.keyId);
    if (!('from' in change) || change.from === instanceId) return;
    // Fire and forget: an instance that cannot confirm stops trusting its cache by the same rule.
    publisher.publish(ACK_CHANNEL_PREFIX + change.from, `${change.changeId} ${instanceId}`).catch(() => {});
  };
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === KEY_CHANGES_CHANNEL) {
      if (delay > 0) setTimeout(() => handle(message), delay);
      else handle(message);
    } else if (channel === ackChannel) {
      const [changeId, from] = message.split(' ');
      const change = changeId === undefined ? undefined : waiting.get(changeId);
      if (!change || from === undefined) return;
      change.confirmed.add(from);
      settleIfConfirmed(changeId!);
    }
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
      await subscriber.subscribe(KEY_CHANGES_CHANNEL, ackChannel);
      subscribed = true;
      void beat();
    } catch {
      cache.setTrusted(false);
    }
  };
  subscriber.on('ready', () => void resubscribe());

  // A change is committed before it is announced, so an announcement that fails must not fail the change:
  // it is kept and sent again once the publisher answers. While Redis itself is away nothing is lost
  // meanwhile, since every instance's heartbeat fails too and every instance reads storage.
  const unsent = new Set<string>();
  const keep = (keyId: string) => {
    if (unsent.size >= MAX_UNSENT && !unsent.has(keyId)) unsent.delete(unsent.values().next().value as string);
    unsent.add(keyId);
  };
  let resending = false;
  const resend = async () => {
    if (resending || unsent.size === 0) return;
    resending = true;
    await Promise.all(
      [...unsent].map(async (keyId) => {
        try {
          await publisher.publish(KEY_CHANGES_CHANNEL, keyId);
          unsent.delete(keyId);
        } catch {
          // kept for the next attempt
        }
      }),
    );
    resending = false;
  };
  publisher.on('ready', () => void resend());

  let beating = false;
  async function beat(): Promise<void> {
    if (beating || closed || subscriber.status !== 'ready') return;
    beating = true;
    const sentAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('heartbeat timed out')), HEARTBEAT_TIMEOUT_MS)));
    const ping = Promise.race([subscriber.ping(), timeout]);
    const register = publisher.eval(HEARTBEAT_LUA, 1, INSTANCES_KEY, instanceId, INSTANCE_TTL_MS);
    const [pinged, registered] = await Promise.allSettled([ping, register]);
    clearTimeout(timer);
    beating = false;
    if (closed) return;
    if (pinged.status === 'rejected') cache.setTrusted(false);
    else if (registered.status === 'fulfilled' && subscribed) {
      cache.setTrusted(true, sentAt + TRUST_MS);
      void resend();
    }
    // A refresh that failed alone renews nothing: trust lapses at its deadline unless a later beat succeeds.
  }
  const heartbeat = setInterval(() => void beat(), HEARTBEAT_INTERVAL_MS);
  heartbeat.unref();
  if (subscriber.status === 'ready') await resubscribe();

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

  return {
    async publish(keyId) {
      cache.invalidateKey(keyId);
      const changeId = randomBytes(9).toString('base64url');
      let done!: () => void;
      const confirmed = new Promise<void>((resolve) => (done = resolve));
      const change = { confirmed: new Set<string>([instanceId]), expected: undefined as Set<string> | undefined, done };
      waiting.set(changeId, change);
      try {
        let live: unknown;
        try {
          live = await publisher.eval(ANNOUNCE_LUA, 1, INSTANCES_KEY, KEY_CHANGES_CHANNEL, `${instanceId} ${changeId} ${keyId}`, INSTANCE_TTL_MS);
        } catch {
          keep(keyId);
          await sleep(FAILED_ANNOUNCEMENT_WAIT_MS);
          return;
        }
        change.expected = new Set(Array.isArray(live) ? live.map(String) : []);
        settleIfConfirmed(changeId);
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ACK_WAIT_MS)));
        const outcome = await Promise.race([confirmed, bound]);
        clearTimeout(timer);
        if (outcome === 'timeout') options.onUnconfirmed?.([...change.expected].filter((id) => !change.confirmed.has(id)));
      } finally {
        waiting.delete(changeId);
      }
    },
    async close() {
      closed = true;
      clearInterval(heartbeat);
      cache.setTrusted(false);
      // Leaves the set of live instances, so that changes made elsewhere stop waiting for this one.
      await publisher.zrem(INSTANCES_KEY, instanceId).catch(() => {});
    },
  };
}
