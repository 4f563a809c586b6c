import type { Mode } from '../db/schema.js';
import type { Window } from '../ratelimit/decision.js';

/** What the hot path needs to decide about one secret, read once from storage and kept in memory. */
export interface VerifiedSecret {
  keyId: string;
  workspaceId: string;
  keyName: string;
  mode: Mode;
  scopes: ReadonlySet<string>;
  windows: readonly Window[];
  allows: (sourceIp: string) => boolean;
  keyRevokedAt: Date | null;
  secretId: string;
  secretVersion: number;
  secretExpiresAt: Date | null;
  secretRevokedAt: Date | null;
}

/** A small LRU on a Map: insertion order is recency, so the first key is the least recently used. */
class Lru<V> {
  readonly #map = new Map<string, V>();
  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    const value = this.#map.get(key);
    if (value === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  /** Returns the entry pushed out to make room, if any. */
  set(key: string, value: V): [string, V] | undefined {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size <= this.max) return undefined;
    const oldest = this.#map.entries().next().value as [string, V];
    this.#map.delete(oldest[0]);
    return oldest;
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
  #generation = 0;

  constructor(options: KeyCacheOptions = {}) {
    this.#known = new Lru(options.maxEntries ?? 100_000);
    this.#unknown = new Lru(options.maxUnknown ?? 10_000);
  }

  /** A verified secret, `null` for a secret known not to exist, `undefined` when storage must say. */
  get(hash: string): VerifiedSecret | null | undefined {
    if (!this.#trusted) return undefined;
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
    if (!this.#trusted || generation !== this.#generation) return;
    if (entry === null) {
      this.#unknown.set(hash, true);
      return;
    }
    const evicted = this.#known.set(hash, entry);
    if (evicted) this.#unindex(evicted[0], evicted[1].keyId);
    let hashes = this.#hashesByKey.get(entry.keyId);
    if (!hashes) this.#hashesByKey.set(entry.keyId, (hashes = new Set()));
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

  /** Untrusted, the cache answers nothing; trusted again, it starts empty, since changes may have been missed. */
  setTrusted(trusted: boolean): void {
    if (trusted !== this.#trusted) this.clear();
    this.#trusted = trusted;
  }

  get trusted(): boolean {
    return this.#trusted;
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

  #unindex(hash: string, keyId: string): void {
    const hashes = this.#hashesByKey.get(keyId);
    hashes?.delete(hash);
    if (hashes?.size === 0) this.#hashesByKey.delete(keyId);
  }
}
