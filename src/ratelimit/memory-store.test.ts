import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryStore } from './memory-store.js';
import { registerStoreContract } from './store-contract.js';

const HOUR_START = 1_800_000_000;
const at = (seconds: number) => (HOUR_START + seconds) * 1000;
const minute = { seconds: 60, limit: 10 };
const hour = { seconds: 3600, limit: 100 };

describe('memory store', () => {
  registerStoreContract(() => createMemoryStore(), 'test');

  it('sweeps a bucket once all its windows have ended, and not before', async () => {
    const store = createMemoryStore();
    try {
      await store.consume('minute-only', [minute], at(10));
      await store.consume('both', [minute, hour], at(10));
      store.sweep(at(59.999));
      assert.equal(store.size, 2);
      store.sweep(at(60));
      assert.equal(store.size, 1, 'the minute-only bucket is gone');
      // The hour counter survived the sweep of its bucket's minute window.
      assert.equal((await store.consume('both', [hour], at(61))).remaining, 98);
      store.sweep(at(3600));
      assert.equal(store.size, 0);
    } finally {
      await store.close();
    }
  });

  it('sweeps on its timer', async () => {
    const store = createMemoryStore({ sweepIntervalMs: 5, clock: () => at(3600) });
    try {
      await store.consume('a', [minute], at(10));
      assert.equal(store.size, 1);
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.equal(store.size, 0);
    } finally {
      await store.close();
    }
  });

  it('drops the least recently used bucket past its cap', async () => {
    const store = createMemoryStore({ maxBuckets: 2 });
    try {
      const one = { seconds: 60, limit: 1 };
      await store.consume('a', [one], at(1));
      await store.consume('b', [one], at(1));
      await store.consume('a', [one], at(2)); // refused, but a is now the most recent
      await store.consume('c', [one], at(3)); // evicts b
      assert.equal(store.size, 2);
      assert.equal((await store.consume('a', [one], at(4))).allowed, false, 'a kept its count');
      assert.equal((await store.consume('b', [one], at(4))).allowed, true, 'b was forgotten');
    } finally {
      await store.close();
    }
  });

  it('refuses a cap below one bucket', () => {
    assert.throws(() => createMemoryStore({ maxBuckets: 0 }), RangeError);
  });
});
