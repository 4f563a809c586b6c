/**
 * Redis stopped (killed) or hanging (SIGSTOP) under load, with three instances on one PostgreSQL
 * database and a private Redis.
 *
 * The documented behaviour (README, "Rate limits" and "Verification, caching and many instances"):
 * - requests keep being answered: rate limits fall back to each instance's own counts, so while Redis is
 *   away each instance allows up to the limit on its own (N instances: up to N × the limit), never fails
 *   closed; a Redis that hangs costs a request at most the command timeout (500 ms), and one request per
 *   second per instance while it lasts;
 * - an instance whose pub/sub subscription dropped, or stopped answering its heartbeat, stops trusting its
 *   key cache and reads PostgreSQL on every request, so a revocation made on one instance is refused on
 *   every other from its next request (a change that could not be announced answers after a second, by
 *   which time every instance has noticed);
 * - once Redis is back, every instance subscribes again and trusts its (emptied) cache, and the limits are
 *   shared and exact again.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createKey, setUp, type Session } from '../bench/lib.js';
import { freePort, startServer, type RunningServer } from './process.js';
import { privateRedisSkipReason, startPrivateRedis, type PrivateRedis } from './redis-server.js';
import { createTestDatabase, describeOrSkip, postgresSkipReason } from './services.js';

const ROOT = new URL('..', import.meta.url).pathname;
const skip = postgresSkipReason ?? privateRedisSkipReason() ?? false;

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function status(url: string, secret: string): Promise<number> {
  const response = await fetch(`${url}/api/v1/ping`, { headers: { authorization: `Bearer ${secret}` } });
  await response.arrayBuffer();
  return response.status;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

const trusted = (url: string) => metric(url, 'latchkey_key_cache_trusted');
const fallbacks = (url: string) => metric(url, 'latchkey_rate_limit_fallbacks_total');
const cacheHits = (url: string) => metric(url, 'latchkey_key_cache_lookups_total{result="hit"}');

/** Starts at least `margin` seconds before the end of a minute window, so that a burst stays in one window. */
async function awayFromMinuteEdge(margin = 5): Promise<void> {
  const intoWindow = (Date.now() / 1000) % 60;
  if (intoWindow > 60 - margin) await new Promise((resolve) => setTimeout(resolve, (60 - intoWindow + 0.5) * 1000));
}

/** `count` concurrent calls per instance; how many of each instance's calls passed. */
async function burst(servers: RunningServer[], secret: string, count: number): Promise<{ passed: number[]; statuses: Set<number> }> {
  const statuses = new Set<number>();
  const passed = await Promise.all(
    servers.map(async (server) => {
      const replies = await Promise.all(Array.from({ length: count }, () => status(server.url, secret)));
      for (const s of replies) statuses.add(s);
      return replies.filter((s) => s === 200).length;
    }),
  );
  return { passed, statuses };
}

/** Concurrent calls to every instance until stopped: the load the outage happens under. */
function backgroundLoad(servers: RunningServer[], secret: string, perInstance: number) {
  const tally: Record<string, number> = {};
  const failures: string[] = [];
  let running = true;
  const loop = async (url: string) => {
    while (running) {
      try {
        const s = await status(url, secret);
        tally[s] = (tally[s] ?? 0) + 1;
      } catch (error) {
        failures.push(`${url}: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  const loops = servers.flatMap((server) => Array.from({ length: perInstance }, () => loop(server.url)));
  return {
    tally,
    failures,
    answered: () => Object.values(tally).reduce((sum, n) => sum + n, 0),
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

const revokeKey = (server: RunningServer, session: Session, keyId: string) =>
  fetch(`${server.url}/v1/workspaces/${session.workspaceId}/api-keys/${keyId}`, { method: 'DELETE', headers: session.headers });

/** What goes wrong with Redis, and how it is put right. */
interface Fault {
  name: string;
  begin(redis: PrivateRedis): Promise<void>;
  end(redis: PrivateRedis): Promise<void>;
}

const faults: Fault[] = [
  // SIGKILL: connections drop at once; it comes back empty (nothing is persisted) on the same port.
  { name: 'Redis stopped', begin: (redis) => redis.stop(), end: (redis) => redis.start() },
  // SIGSTOP: connections stay open and nothing answers, as with a hung server or a network that drops packets.
  { name: 'Redis hanging', begin: async (redis) => redis.freeze(), end: async (redis) => redis.thaw() },
];

describeOrSkip('Redis faults under load: three instances on PostgreSQL and a private Redis', { skip, timeout: 150_000 }, () => {
  let redis: PrivateRedis | undefined;
  let dropDatabase: (() => Promise<void>) | undefined;
  const servers: RunningServer[] = [];
  let session: Session;

  before(async () => {
    redis = await startPrivateRedis();
    const database = await createTestDatabase();
    dropDatabase = database.drop;
    const env = { DATABASE_URL: database.url, REDIS_URL: redis.url, LOG_LEVEL: 'error', DEFAULT_CEILING_PER_MINUTE: '1000000' };
    const start = async () => startServer(process.execPath, ['--import', 'tsx', `${ROOT}src/main.ts`], env, await freePort());
    servers.push(await start()); // migrations run once, before the others start
    servers.push(...(await Promise.all([start(), start()])));
    session = await setUp(servers[0]!.url);
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await dropDatabase?.();
    await redis?.destroy();
  });

  for (const fault of faults) {
    it(`${fault.name}: answers throughout, revokes at once, limits per instance; shares and trusts again once back`, { timeout: 60_000 }, async () => {
      const [a, b, c] = servers as [RunningServer, RunningServer, RunningServer];
      const highLimit = { scopes: ['tickets:read'], rate_limit: { per_minute: 1_000_000 } };
      const load = await createKey(session, { name: 'load', ...highLimit });
      const leaked = await createKey(session, { name: 'leaked', ...highLimit });
      const probe = await createKey(session, { name: 'probe', ...highLimit });
      const limitedWhileDown = await createKey(session, { name: 'limited-down', scopes: ['tickets:read'], rate_limit: { per_minute: 10 } });
      for (const server of servers) {
        assert.equal(await trusted(server.url), 1, 'subscribed before the outage');
        assert.equal(await status(server.url, leaked.secret), 200);
        assert.equal(await status(server.url, leaked.secret), 200);
      }

      const traffic = backgroundLoad(servers, load.secret, 2);
      try {
        await until('load on every instance', 10_000, async () => traffic.answered() > 100);

        await fault.begin(redis!);
        const answeredAtFault = traffic.answered();
        await until('every instance distrusting its cache', 10_000, async () => (await Promise.all(servers.map((s) => trusted(s.url)))).every((t) => t === 0));

        // A revocation made on A is refused on B and C from their very next request: they read PostgreSQL.
        const revoke = await revokeKey(a, session, leaked.id);
        assert.equal(revoke.status, 200, `revoking while Redis fails: ${await revoke.text()}`);
        assert.deepEqual([await status(b.url, leaked.secret), await status(c.url, leaked.secret), await status(a.url, leaked.secret)], [401, 401, 401]);

        // Limits per instance: a 10-per-minute key allows 10 on each instance (30 across the three), not 10 in all.
        await awayFromMinuteEdge();
        // The counter runs over both faults (the servers are shared): what this burst added is read.
        const fallbacksBefore = await Promise.all(servers.map((s) => fallbacks(s.url)));
        const down = await burst(servers, limitedWhileDown.secret, 25);
        assert.deepEqual(down.passed, [10, 10, 10], 'each instance counts on its own while Redis fails');
        assert.deepEqual([...down.statuses].sort(), [200, 429]);
        for (const [i, server] of servers.entries()) {
          const added = (await fallbacks(server.url)) - fallbacksBefore[i]!;
          assert.ok(added >= 25, `the burst's 25 fallback decisions are counted on instance ${i} (${added})`);
        }
        await until('load answered while Redis fails', 10_000, async () => traffic.answered() > answeredAtFault + 200);
        const answeredDuringFault = traffic.answered() - answeredAtFault;

        await fault.end(redis!);
        await until('every instance subscribed and trusting its cache again', 30_000, async () => (await Promise.all(servers.map((s) => trusted(s.url)))).every((t) => t === 1));
        // The command connection recovers on its own schedule: shared counting has resumed once a
        // decision no longer falls back, on every instance.
        await until('every instance counting in Redis again', 30_000, async () => {
          const resumed = await Promise.all(
            servers.map(async (server) => {
              const before = await fallbacks(server.url);
              assert.equal(await status(server.url, probe.secret), 200);
              return (await fallbacks(server.url)) === before;
            }),
          );
          return resumed.every(Boolean);
        });
        await traffic.stop();

        const limitedAfter = await createKey(session, { name: 'limited-after', scopes: ['tickets:read'], rate_limit: { per_minute: 20 } });
        await awayFromMinuteEdge();
        const up = await burst(servers, limitedAfter.secret, 30);
        assert.equal(up.passed.reduce((sum, n) => sum + n, 0), 20, `one shared limit again (per instance: ${up.passed.join(', ')})`);

        // The cache is used again (hits), and changes reach it over pub/sub again.
        const later = await createKey(session, { name: 'later', scopes: ['tickets:read'] });
        for (const server of servers) {
          const hitsBefore = await cacheHits(server.url);
          assert.equal(await status(server.url, later.secret), 200);
          assert.equal(await status(server.url, later.secret), 200);
          assert.ok((await cacheHits(server.url)) > hitsBefore, 'answered from the cache');
        }
        assert.equal((await revokeKey(b, session, later.id)).status, 200);
        assert.deepEqual(await Promise.all(servers.map((s) => status(s.url, later.secret))), [401, 401, 401]);

        const report = `load key: ${JSON.stringify(traffic.tally)} (${answeredDuringFault} during the fault); 10-per-minute key during the fault: ${down.passed.join('/')} passed per instance; 20-per-minute key once back: ${up.passed.join('/')}`;
        process.stderr.write(`# ${fault.name}: ${report}\n`);
        assert.deepEqual(traffic.failures, [], report);
        assert.deepEqual(Object.keys(traffic.tally), ['200'], `every load call answered 200, none refused, no 5xx: ${report}`);
      } finally {
        await traffic.stop();
        await fault.end(redis!);
      }
    });
  }
});
