import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyCache, type VerifiedSecret } from './key-cache.js';

function secret(keyId: string, secretId = `sec_${keyId}`): VerifiedSecret {
  return {
    principal: { workspaceId: 'ws_1', mode: 'live', keyId, keyName: keyId, secretId, secretVersion: 1, scopes: new Set(), meta: {}, workspaceExternalId: null, keyExpiresAt: null, secretPrefix: 'lk_live_abcd…' },
    auditKey: { id: keyId, name: keyId, workspaceId: 'ws_1', mode: 'live', secretId, secretVersion: 1 },
    keyRevokedAt: null,
    keyExpiresAtMs: Number.POSITIVE_INFINITY,
    secret: { expires_at: null, revoked_at: null },
    windows: [{ seconds: 60, limit: 60 }],
    bucket: `key:${keyId}`,
    allows: () => true,
  };
}

describe('key cache', () => {
  it('answers hits, known-unknown secrets, and misses', () => {
    const cache = new KeyCache();
    cache.set('h1', secret('k1'), cache.generation);
    cache.set('h2', null, cache.generation);
    assert.equal(cache.get('h1')?.principal.keyId, 'k1');
    assert.equal(cache.get('h2'), null);
    assert.equal(cache.get('h3'), undefined);
  });

  it('forgets every secret of a changed key, and nothing else', () => {
    const cache = new KeyCache();
    cache.set('old', secret('k1', 's1'), cache.generation);
    cache.set('new', secret('k1', 's2'), cache.generation);
    cache.set('other', secret('k2'), cache.generation);
    assert.equal(cache.indexedKeys, 2);
    cache.invalidateKey('k1');
    assert.deepEqual([cache.get('old'), cache.get('new'), cache.get('other')?.principal.keyId], [undefined, undefined, 'k2']);
    assert.equal(cache.indexedKeys, 1, 'the forgotten key leaves the index');
  });

  it('refuses a lookup that started before a change was announced', () => {
    const cache = new KeyCache();
    const startedAt = cache.generation;
    cache.invalidateKey('k1'); // announced while the lookup was reading storage
    cache.set('h1', secret('k1'), startedAt);
    assert.equal(cache.get('h1'), undefined);
  });

  it('stays within its bounds, the least recently used going first, and unknown secrets apart', () => {
    const cache = new KeyCache({ maxEntries: 2, maxUnknown: 1 });
    cache.set('a', secret('ka'), cache.generation);
    cache.set('b', secret('kb'), cache.generation);
    cache.get('a');
    cache.set('c', secret('kc'), cache.generation);
    assert.deepEqual([cache.get('a')?.principal.keyId, cache.get('b'), cache.get('c')?.principal.keyId], ['ka', undefined, 'kc']);
    for (let i = 0; i < 10; i++) cache.set(`bogus${i}`, null, cache.generation);
    assert.equal(cache.size, 2, 'made-up keys do not push real ones out');
    assert.equal(cache.indexedKeys, 2, "an evicted key's index entry leaves with it");
    cache.invalidateKey('kb');
    assert.equal(cache.indexedKeys, 2);
  });

  it('keeps its index as small as the cache however many keys pass through it', () => {
    const cache = new KeyCache({ maxEntries: 8 });
    for (let i = 0; i < 1000; i++) {
      cache.set(`h${i}`, secret(`k${i % 300}`, `s${i}`), cache.generation);
      if (i % 7 === 0) cache.invalidateKey(`k${(i * 13) % 300}`);
    }
    assert.ok(cache.size <= 8);
    assert.ok(cache.indexedKeys <= cache.size, `${cache.indexedKeys} keys indexed for ${cache.size} cached secrets`);
  });

  it('keeps a busy key while others come and go, though a hit does not always move it', () => {
    const cache = new KeyCache({ maxEntries: 8 });
    cache.set('busy', secret('kbusy'), cache.generation);
    for (let i = 0; i < 100; i++) {
      cache.set(`h${i}`, secret(`k${i}`), cache.generation);
      assert.equal(cache.get('busy')?.principal.keyId, 'kbusy', `after ${i + 1} others`);
    }
    assert.equal(cache.size, 8);
    assert.equal(cache.get('h0'), undefined, 'an idle key went');
  });

  it('answers nothing while untrusted, and starts empty when trusted again', () => {
    const cache = new KeyCache();
    cache.set('h1', secret('k1'), cache.generation);
    cache.setTrusted(false);
    assert.equal(cache.get('h1'), undefined);
    cache.set('h2', secret('k2'), cache.generation);
    cache.setTrusted(true);
    assert.deepEqual([cache.get('h1'), cache.get('h2'), cache.size], [undefined, undefined, 0]);
  });
});
