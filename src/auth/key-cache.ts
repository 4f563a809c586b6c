import type { Window } from '../ratelimit/decision.js';
import type { Principal } from './principal.js';

/** What the audit log records of the key a request used, as it was when the key was looked up. */
export interface AuditedKey {
  id: string;
  name: string;
  workspaceId: string;
  mode: Principal['mode'];
  secretId: string;
  secretVersion: number;
}

/**
 * What the hot path needs to decide about one secret, read once from storage and kept in memory. Every
 * part a request hands on (the principal, the audited key, the windows) is built and frozen here, once,
 * so that a cache hit allocates nothing for them.
 */
export interface VerifiedSecret {
  principal: Readonly<Principal>;
  auditKey: Readonly<AuditedKey>;
  keyRevokedAt: Date | null;
  /** The whole key's end in ms (expires_at), Infinity when it has none: compared to now on every request. */
  keyExpiresAtMs: number;
  /** The version's end of overlap and early revocation, as secretState() reads them. */
  secret: { readonly expires_at: Date | null; readonly revoked_at: Date | null };
  /** The key's limits, checked and frozen (keyWindows), and its rate-limit bucket `key:<id>`. */
  windows: readonly Window[];
  bucket: string;
  allows: (sourceIp: string) => boolean;
}

/**
 * A small LRU on a Map: insertion order is recency, so the first key is the least recently used.
 * Moving an entry to the end costs a delete and an insert, so an entry moved within the last quarter
 * of `max` moves stays where it is: it is still far from the front, where eviction takes from. Eviction
 * stays close to least-recently-used, and a hit on a busy key costs a lookup only.
 */
class Lru<V> {
  readonly #map = new Map<string, { value: V; movedAt: number }>();
  /** Counts moves to the end, as a clock for movedAt. */
  #moves = 0;
  readonly #stale: number;
  constructor(private readonly max: number) {
    this.#stale = max >> 2;
  }

  get(key: string): V | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    if (this.#moves - slot.movedAt > this.#stale) {
      this.#map.delete(key);
      slot.movedAt = ++this.#moves;
      this.#map.set(key, slot);
    }
    return slot.value;
  }

  /** Returns the entry pushed out to make room, if any. */
  set(key: string, value: V): [string, V] | undefined {
    this.#map.delete(key);
    this.#map.set(key, { value, movedAt: ++this.#moves });
    if (this.#map.size <= this.max) return undefined;
    const [oldestKey, oldest] = this.#map.entries().next().value as [string, { value: V }];
    this.#map.delete(oldestKey);
    return [oldestKey, oldest.value];
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }

  get size(): number {
    return this.#map.size;
  }
}

export interface KeyCacheOptions {
  maxEntries?: number;
  maxUnknown?: number;
}

/**
 * Verified secrets by hash, bounded. Unknown secrets are remembered apart, in a smaller LRU, so a flood
 * of made-up keys cannot push real keys out. Remembering an unknown secret is safe: a secret that is
 * created later is random and was never looked up before.
 *
 * The cache is only trusted while every change made anywhere reaches it (see key-change-bus.ts);
 * while it is not, every lookup goes to storage.
 */
export class KeyCache {
  readonly #known: Lru<VerifiedSecret>;
  readonly #unknown: Lru<true>;
  readonly #hashesByKey = new Map<string, Set<string>>();
  #trusted = true;
  /** performance.now() beyond which trust lapses unless renewed (see key-change-bus.ts); infinite without Redis. */
  #trustedUntil = Number.POSITIVE_INFINITY;
  #generation = 0;

  constructor(options: KeyCacheOptions = {}) {
    this.#known = new Lru(options.maxEntries ?? 100_000);
    this.#unknown = new Lru(options.maxUnknown ?? 10_000);
  }

  /** A verified secret, `null` for a secret known not to exist, `undefined` when storage must say. */
  get(hash: string): VerifiedSecret | null | undefined {
    if (!this.trusted) return undefined;
    const known = this.#known.get(hash);
    if (known) return known;
    return this.#unknown.get(hash) ? null : undefined;
  }

  /**
   * Where a lookup starts. A lookup that read storage before a change committed may finish after the
   * change was announced; `set` with the generation seen at its start refuses to cache such a result.
   */
  get generation(): number {
    return this.#generation;
  }

  set(hash: string, entry: VerifiedSecret | null, generation: number): void {
    if (!this.trusted || generation !== this.#generation) return;
    if (entry === null) {
      this.#unknown.set(hash, true);
      return;
    }
    const evicted = this.#known.set(hash, entry);
    if (evicted) this.#unindex(evicted[0], evicted[1].principal.keyId);
    const { keyId } = entry.principal;
    let hashes = this.#hashesByKey.get(keyId);
    if (!hashes) this.#hashesByKey.set(keyId, (hashes = new Set()));
    hashes.add(hash);
  }

  /** Forgets every secret of a key: the next request reads the key's new state from storage. */
  invalidateKey(keyId: string): void {
    this.#generation++;
    const hashes = this.#hashesByKey.get(keyId);
    if (!hashes) return;
    for (const hash of hashes) this.#known.delete(hash);
    this.#hashesByKey.delete(keyId);
  }

  /**
   * Untrusted, the cache answers nothing; trusted again, it starts empty, since changes may have been missed.
   * `until` (a performance.now() time) makes trust lapse on its own unless renewed: an instance that stops
   * hearing from Redis (or stops running, as in a long pause) distrusts its cache without having to notice.
   */
  setTrusted(trusted: boolean, until = Number.POSITIVE_INFINITY): void {
    if (trusted !== this.#trusted) this.clear();
    this.#trusted = trusted;
    this.#trustedUntil = until;
  }

  get trusted(): boolean {
    return this.#trusted && (this.#trustedUntil === Number.POSITIVE_INFINITY || performance.now() < this.#trustedUntil);
  }

  clear(): void {
    this.#generation++;
    this.#known.clear();
    this.#unknown.clear();
    this.#hashesByKey.clear();
  }

  get size(): number {
    return this.#known.size;
  }

  /** Keys with a secret in the index that invalidateKey reads: bounded by `size`, or the index leaks. */
  get indexedKeys(): number {
    return this.#hashesByKey.size;
  }

  #unindex(hash: string, keyId: string): void {
    const hashes = this.#hashesByKey.get(keyId);
    hashes?.delete(hash);
    if (hashes?.size === 0) this.#hashesByKey.delete(keyId);
  }
}
