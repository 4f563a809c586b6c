import assert from 'node:assert/strict';
import { it } from 'node:test';
import { HOST_TAG, isStaleTestDatabase, STALE_AFTER_SECONDS, testDatabaseName } from './test-databases.js';

const NOW = 1_800_000_000;
const alive = new Set([100]);
const check = (createdSeconds?: number) => ({ nowSeconds: NOW, host: HOST_TAG, alive: (pid: number) => alive.has(pid), createdSeconds });

it('tells leftover test databases from those a running suite uses', () => {
  const cases: [string, string, boolean, number?][] = [
    ['made by a live process of this host, just now', testDatabaseName(100, NOW), false],
    ['made by a process of this host that is gone', testDatabaseName(200, NOW), true],
    ['made by a live process, over an hour ago', testDatabaseName(100, NOW - STALE_AFTER_SECONDS - 1), true],
    ['made by a live process, just under an hour ago', testDatabaseName(100, NOW - STALE_AFTER_SECONDS), false],
    ['made on another host (its pids mean nothing here), just now', `latchkey_test_ffffff_200_${NOW}_abcdef0123`, false],
    ['made on another host, over an hour ago', `latchkey_test_ffffff_200_${NOW - STALE_AFTER_SECONDS - 1}_abcdef0123`, true],
    ['old-style name, age unknown', 'latchkey_test_0123456789ab', false],
    ['old-style name, made 10 minutes ago', 'latchkey_test_0123456789ab', false, NOW - 600],
    ['old-style name, made two hours ago', 'latchkey_test_0123456789ab', true, NOW - 7200],
    ['not a test database', 'latchkey', false, NOW - 7200],
  ];
  for (const [what, name, stale, created] of cases) assert.equal(isStaleTestDatabase(name, check(created)), stale, what);
  assert.ok(testDatabaseName().length <= 63, 'PostgreSQL names are at most 63 bytes');
});
