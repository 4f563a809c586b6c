/**
 * Hostile input (issue 6): FUZZ_RUNS (default 100,000) random and malformed requests — Authorization
 * headers, paths, ids in paths (near misses of real ids: NUL, %00, unicode, long, another prefix; each must
 * answer 404, or the router's 400), query strings, product-API bodies and management-API bodies — sent in process
 * (app.inject) to one app on PGlite. Properties, for every request:
 * - never a 5xx;
 * - every error answers the documented shape {error: {type, code, message, param?, request_id}}, its code
 *   one of src/http/errors.ts with that code's status and type, and request_id the Request-Id header;
 * - no response body holds a key secret (none of these requests creates one, except key creation);
 * and over the run: the process does not crash (no unhandled rejection) and the heap stays flat.
 *
 * Memory: the run is split in two halves. Bounded caches (unknown secrets, rate-limit buckets, the
 * made-up-key blocklist) fill in the first; after each half the audit queue is drained and the heap is
 * measured after a full GC. The second half may add at most FUZZ_HEAP_SLACK_MB (default 8) to it:
 * 50,000 requests leaking even 170 bytes each would exceed it. The GC is reached without changing
 * `npm test`'s command line: v8.setFlagsFromString('--expose-gc') then vm.runInNewContext('gc').
 *
 * FUZZ_SEED replays a run (the seed is printed); a failure prints fast-check's shrunk counterexample,
 * and for a 5xx the server's logged stack.
 */
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Db } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { ERRORS, type ErrorCode } from '../src/http/errors.js';
import { KEY_PATTERN } from '../src/keys/key-format.js';
import { REFERENCE_PRODUCT } from '../src/product/product.js';
import { loggerOptions } from '../src/logging.js';
import { arbitraries, type FuzzRequest, type FuzzTargets } from './fuzz-inputs.js';
import { Client, PASSWORD, newTenant, serviceClient, uniqueEmail, type Harness } from './harness.js';
import { inviteAndJoin } from './invite.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 100_000);
const SEED = process.env.FUZZ_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED);
const HEAP_SLACK_MB = Number(process.env.FUZZ_HEAP_SLACK_MB ?? 8);

/**
 * Share of the runs per kind of input. Query strings and management bodies cost the most per request
 * (searches over a growing audit log, sessions, writes, scrypt), so they get fewer runs, which keeps the
 * whole run near two minutes of CPU.
 */
const SHARES = { authRequests: 0.4, pathRequests: 0.22, idPathRequests: 0.08, queryRequests: 0.08, apiBodyRequests: 0.1, managementRequests: 0.12 } as const;
type Kind = keyof typeof SHARES;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Error log lines only (the stacks of 5xx answers), bounded. */
function errorSink(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = chunk.toString();
      if ((line.includes('"level":50') || line.includes('"level":40')) && lines.length < 100) lines.push(line);
      done();
    },
  });
}

const ERROR_FIELDS = new Set(['type', 'code', 'message', 'param', 'request_id']);

/** Why this response breaks a property, or null. */
function violation(request: FuzzRequest, response: LightMyRequestResponse, secrets: readonly string[]): string | null {
  const status = response.statusCode;
  if (status >= 500) return `answered ${status}`;
  const keyCreation = request.method === 'POST' && /\/api-keys(\/[^/]+\/rotate)?$/.test(request.url.split('?')[0] ?? '');
  if (!keyCreation && (secrets.some((s) => response.body.includes(s)) || KEY_PATTERN.test(response.body))) {
    KEY_PATTERN.lastIndex = 0;
    return 'a key secret appears in the response';
  }
  if (status < 400 || request.method === 'HEAD') return null;
  let body: { error?: Record<string, unknown> };
  try {
    body = JSON.parse(response.body) as typeof body;
  } catch {
    return `error ${status} is not JSON: ${response.body.slice(0, 200)}`;
  }
  const error = body.error;
  if (!error || typeof error !== 'object') return `error ${status} has no error object: ${response.body.slice(0, 200)}`;
  const code = error.code as ErrorCode;
  const known = ERRORS[code];
  if (!known) return `unknown error code ${String(code)}`;
  if (known.status !== status) return `code ${code} answered ${status}, registry says ${known.status}`;
  if (error.type !== known.type) return `code ${code} has type ${String(error.type)}`;
  if (typeof error.message !== 'string' || error.message.length === 0) return 'error.message is not a sentence';
  if (error.param !== undefined && typeof error.param !== 'string') return 'error.param is not a string';
  if (typeof error.request_id !== 'string' || error.request_id !== response.headers['request-id']) return 'error.request_id is not the Request-Id header';
  const documented: readonly string[] = 'fields' in known ? known.fields : [];
  const extra = Object.keys(error).filter((k) => !ERROR_FIELDS.has(k) && !documented.includes(k));
  if (extra.length > 0) return `error has undocumented fields: ${extra.join(', ')}`;
  return null;
}

function describeRequest(request: FuzzRequest): string {
  const clip = (v: unknown) => {
    const text = JSON.stringify(v) ?? '';
    return text.length > 600 ? `${text.slice(0, 600)}… (${text.length} chars)` : text;
  };
  return `${request.method} ${clip(request.url)} from ${request.remoteAddress}\n  headers: ${clip(request.headers)}\n  body: ${clip(request.payload)}`;
}

describe('hostile input: fuzzed requests never get a 5xx, always the documented error shape, and leave the heap flat', () => {
  let app: FastifyInstance;
  let db: Db;
  const errorLines: string[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  let targets: FuzzTargets;
  let arbs: ReturnType<typeof arbitraries> | undefined;
  let offsetMs = 0;
  let sent = 0;
  const statuses = new Map<number, number>();
  /** Requests that light-my-request itself refused to build (no server saw them), by reason. */
  const undeliverable = new Map<string, number>();

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    const config = loadConfig({ DATA_DIR: 'memory://', TRUST_PROXY: '1' });
    ({ db } = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 4 }));
    await migrateToLatest(db);
    const logger = pino(loggerOptions('warn'), errorSink(errorLines));
    const clock = {
      get now() {
        return new Date(Date.now() + offsetMs);
      },
      advance(seconds: number) {
        offsetMs += seconds * 1000;
      },
    };
    app = await buildApp({ config, db, logger, now: () => clock.now, usageFlushMs: 200 });
    await app.ready();
    const h: Harness = { backend: 'pglite', app, db, config, logs: [], clock };
    targets = await setUpTenant(h);
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await app?.close();
    await db?.destroy();
  });

  async function send(request: FuzzRequest, kind: Kind): Promise<LightMyRequestResponse | null> {
    // Each simulated minute gives every source address a fresh made-up-key budget and the keys fresh windows.
    // Not during management bodies: the sign-in failure budget of their one address (100 per 15 minutes)
    // is what bounds the scrypt work of the run.
    if (++sent % 2000 === 0 && kind !== 'managementRequests') offsetMs += 61_000;
    try {
      return await app.inject({ method: request.method as 'GET', url: request.url, headers: request.headers, payload: request.payload, remoteAddress: request.remoteAddress });
    } catch (error) {
      // Only the request builder's own refusals (a header value Node would not send) are expected here.
      const message = (error as Error).message;
      if (!/Invalid character|Invalid value|header/i.test(message)) throw error;
      undeliverable.set(message, (undeliverable.get(message) ?? 0) + 1);
      return null;
    }
  }

  async function fuzz(kind: Kind, runs: number, seed: number): Promise<void> {
    const secrets = [targets.liveSecret, targets.testSecret, targets.revokedSecret];
    /** The smallest failure's own explanation: fast-check's report would print the whole (huge) input first. */
    let lastProblem = '';
    try {
      arbs ??= arbitraries(targets);
    await fc.assert(
      fc.asyncProperty(arbs[kind], async (request) => {
        const response = await send(request, kind);
        if (!response) return;
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        const id = String(response.headers['request-id'] ?? '');
        const logged = errorLines.find((line) => id && line.includes(id));
        const problem =
          violation(request, response, secrets) ??
          (logged?.includes('"level":50') ? 'the server logged an error for it' : null) ??
          (kind === 'idPathRequests' && response.statusCode !== 404 && response.statusCode !== 400 ? `an id that names nothing answered ${response.statusCode}, not 404 (or the router's 400)` : null);
        if (problem) {
          lastProblem = `${problem}\n${describeRequest(request)}\n  response: ${response.body.slice(0, 400)}${logged ? `\n  server log: ${logged.slice(0, 2000)}` : ''}`;
          throw new Error(`${problem}\n${describeRequest(request)}\n  response: ${response.body.slice(0, 400)}${logged ? `\n  server log: ${logged.slice(0, 2000)}` : ''}`);
        }
      }),
      { numRuns: runs, seed, endOnFailure: false },
      );
    } catch (error) {
      if (!lastProblem) throw error;
      const report = (error as Error).message;
      throw new Error(`${kind}: ${lastProblem}\n(fast-check: ${report.slice(0, 200)}… replay with FUZZ_SEED=${SEED})`);
    }
  }

  /** Heap used after a full GC, once the audit queue is empty; fails if the audit log stopped writing. */
  async function drainedHeapMb(): Promise<number> {
    let queued = '';
    for (let i = 0; i < 200 && queued !== '0'; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      queued = /^latchkey_audit_events_queued (\d+)$/m.exec(metrics.body)?.[1] ?? '';
    }
    const stuck = errorLines.find((line) => line.includes('not written yet'));
    assert.equal(stuck, undefined, `the audit writer failed on fuzzed input: ${stuck?.slice(0, 2000)}`);
    assert.equal(queued, '0', 'the audit queue drains');
    for (let i = 0; i < 3; i++) gc();
    return process.memoryUsage().heapUsed / 2 ** 20;
  }

  it(`answers ${RUNS} hostile requests (seed ${SEED}) without a 5xx, in the documented shape, with a flat heap`, async (t) => {
    const started = performance.now();
    const heap: number[] = [await drainedHeapMb()];
    const timings: string[] = [];
    for (const half of [0, 1]) {
      for (const kind of Object.keys(SHARES) as Kind[]) {
        const runs = Math.max(1, Math.round((RUNS * SHARES[kind]) / 2));
        const begin = performance.now();
        await fuzz(kind, runs, SEED + half * 7919 + kind.length);
        timings.push(`${kind} half ${half + 1}: ${runs} in ${((performance.now() - begin) / 1000).toFixed(1)} s`);
      }
      heap.push(await drainedHeapMb());
    }
    const seconds = (performance.now() - started) / 1000;
    t.diagnostic(`seed ${SEED}; ${sent} requests in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)}/s)`);
    for (const line of timings) t.diagnostic(line);
    t.diagnostic(`statuses: ${[...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`);
    if (undeliverable.size > 0) t.diagnostic(`not deliverable (refused by the request builder): ${[...undeliverable].map(([m, n]) => `${n}× ${m}`).join('; ')}`);
    t.diagnostic(`heap used after GC (MiB): start ${heap[0]?.toFixed(1)}, after half 1 ${heap[1]?.toFixed(1)}, after half 2 ${heap[2]?.toFixed(1)}`);

    assert.deepEqual(unhandled, [], 'no unhandled rejection');
    const growth = (heap[2] ?? 0) - (heap[1] ?? 0);
    assert.ok(growth <= HEAP_SLACK_MB, `the second half grew the heap by ${growth.toFixed(1)} MiB (bound ${HEAP_SLACK_MB} MiB)`);
  });
});

/**
 * A workspace with keys of every state and records of every resource to aim at, a member, and the
 * workspace's ceiling raised so that key bodies with large limits can be valid.
 */
async function setUpTenant(h: Harness): Promise<FuzzTargets> {
  const tenant = await newTenant(h);
  const { client, workspaceId } = tenant;
  await h.db.updateTable('workspaces').set({ ceiling_per_minute: 1_000_000, ceiling_per_hour: 60_000_000 }).where('id', '=', workspaceId).execute();
  const scopes = REFERENCE_PRODUCT.scopes.map((s) => s.scope).filter((s) => s !== 'keys:rotate_self');
  const create = async (fields: Record<string, unknown>) => {
    const reply = await client.post(tenant.keys, { name: 'fuzz', scopes, rate_limit: { per_minute: 1_000_000 }, ...fields });
    assert.equal(reply.status, 201, reply.raw);
    return reply.body as { id: string; secret: string; secrets: Array<{ id: string }> };
  };
  const live = await create({});
  const test = await create({ mode: 'test' });
  const revoked = await create({});
  assert.equal((await client.delete(`${tenant.keys}/${revoked.id}`)).status, 200);
  const victim = await create({ name: 'victim' });
  const rotated = await client.post(`${tenant.keys}/${victim.id}/rotate`);
  const oldVersion = (rotated.body.secrets as Array<{ id: string; version: number }>).find((s) => s.version === 1);

  const member = await inviteAndJoin(h, tenant, uniqueEmail('member'), 'member');

  assert.equal((await client.post(`/v1/workspaces/${workspaceId}/demo-data`)).status < 300, true);
  const recordIds: Record<string, string> = {};
  for (const resource of ['conversations', 'contacts', 'tickets', 'scorecards', 'agents', 'webhooks', 'knowledge_base', 'accounts', 'policies']) {
    const list = await h.app.inject({ method: 'GET', url: `/api/v1/${resource}?limit=1`, headers: { authorization: `Bearer ${live.secret}` } });
    const id = (JSON.parse(list.body) as { data?: Array<{ id: string }> }).data?.[0]?.id;
    if (id) recordIds[resource] = id;
  }
  // A second session for the fuzz, so that a fuzzed logout (paths send no CSRF token, so none can) is moot.
  const fuzzClient = new Client(h.app);
  assert.equal((await fuzzClient.post('/v1/auth/login', { email: tenant.email, password: PASSWORD })).status, 200);
  const ips = [
    ...Array.from({ length: 192 }, (_, i) => `10.${i}.${(i * 7) % 256}.${1 + (i % 250)}`),
    ...Array.from({ length: 64 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`),
  ];
  return {
    brand: h.config.keyPrefix,
    workspaceId,
    liveSecret: live.secret,
    testSecret: test.secret,
    revokedSecret: revoked.secret,
    victimKeyId: victim.id,
    victimSecretId: oldVersion?.id ?? 'sec_missing',
    memberUserId: member.userId,
    recordIds,
    cookie: fuzzClient.cookie ?? '',
    csrf: fuzzClient.csrf ?? '',
    serviceSecret: (await serviceClient(h, ['workspaces:read', 'workspaces:write', 'keys:verify', 'keys:read', 'embed:create'])).secret,
    ips,
  };
}
