import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { loggerOptions } from '../src/logging.js';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase, type Db } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { PERMISSIONS, type Permission } from '../src/service-keys/permissions.js';
import { createServiceKeys } from '../src/service-keys/service-keys.js';
import { createTestDatabase, describeOrSkip, postgresSkipReason } from './services.js';

export type Backend = 'pglite' | 'postgres';

export { postgresSkipReason } from './services.js';

export interface Harness {
  backend: Backend;
  app: FastifyInstance;
  db: Db;
  config: Config;
  /** Every log line the app wrote, as text, to search for secrets. */
  logs: string[];
  clock: { now: Date; advance(seconds: number): void };
}

export interface HarnessOptions {
  env?: Record<string, string>;
  usageFlushMs?: number;
}

export async function startHarness(backend: Backend, options: HarnessOptions): Promise<Harness & { close(): Promise<void> }> {
  const database = backend === 'postgres' ? await createTestDatabase() : null;
  const config = loadConfig({ DATA_DIR: 'memory://', ...(database ? { DATABASE_URL: database.url } : {}), ...options.env });
  const { db } = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 4 });
  await migrateToLatest(db);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const logger = pino(loggerOptions('info'), sink);
  let offsetMs = 0;
  const clock = {
    get now() {
      return new Date(Date.now() + offsetMs);
    },
    advance(seconds: number) {
      offsetMs += seconds * 1000;
    },
  };
  const app = await buildApp({ config, db, logger, now: () => clock.now, usageFlushMs: options.usageFlushMs ?? 50 });
  await app.ready();
  return {
    backend,
    app,
    db,
    config,
    logs,
    clock,
    async close() {
      await app.close();
      await db.destroy();
      await database?.drop();
    },
  };
}

/**
 * Runs `body` once per backend: PGlite always, PostgreSQL when reachable (and always under CI=true).
 * Each backend gets its own app and database for the suite; tests make their own tenants in it.
 */
export function describeEachBackend(name: string, body: (harness: () => Harness) => void, options: HarnessOptions = {}): void {
  for (const backend of ['pglite', 'postgres'] as const) {
    const skip = backend === 'postgres' && postgresSkipReason ? postgresSkipReason : false;
    describeOrSkip(`${name} [${backend}]`, { skip }, () => {
      let harness: (Harness & { close(): Promise<void> }) | undefined;
      before(async () => {
        harness = await startHarness(backend, options);
      });
      after(async () => {
        await harness?.close();
      });
      body(() => {
        if (!harness) throw new Error('harness not started');
        return harness;
      });
    });
  }
}

export interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  headers: LightMyRequestResponse['headers'];
  raw: string;
}

function toReply(response: LightMyRequestResponse): Reply {
  let body: unknown = null;
  try {
    body = response.body ? JSON.parse(response.body) : null;
  } catch {
    body = response.body;
  }
  return { status: response.statusCode, body, headers: response.headers, raw: response.body };
}

/** A browser-like management client: keeps the session cookie and sends the CSRF token on changes. */
export class Client {
  cookie: string | undefined;
  csrf: string | undefined;
  /** Set for a service key's client (serviceClient): sent as Authorization: Bearer on every request. */
  bearer: string | undefined;

  constructor(private readonly app: FastifyInstance, private readonly ip = '127.0.0.1') {}

  async request(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const response = await this.app.inject({
      method,
      url,
      remoteAddress: this.ip,
      headers: {
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(this.bearer ? { authorization: `Bearer ${this.bearer}` } : {}),
        ...(this.csrf && method !== 'GET' ? { 'x-csrf-token': this.csrf } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const setCookie = response.cookies.find((c) => c.name === 'latchkey_session');
    if (setCookie) this.cookie = setCookie.value ? `latchkey_session=${setCookie.value}` : undefined;
    const reply = toReply(response);
    if (reply.body && typeof reply.body === 'object' && typeof reply.body.csrf_token === 'string') this.csrf = reply.body.csrf_token;
    return reply;
  }

  get(url: string) {
    return this.request('GET', url);
  }
  post(url: string, body?: unknown) {
    return this.request('POST', url, body);
  }
  patch(url: string, body?: unknown) {
    return this.request('PATCH', url, body);
  }
  delete(url: string) {
    return this.request('DELETE', url);
  }
}

export const PASSWORD = 'correct horse battery staple';

/**
 * A SaaS backend's client: a new service key (as `latchkey create-service-key` makes it) sent as Bearer.
 * By default it holds every permission and reaches every workspace.
 */
export async function serviceClient(
  h: Harness,
  permissions: readonly Permission[] = PERMISSIONS,
  workspaceIds: string[] | null = null,
): Promise<Client & { serviceKeyId: string; secret: string }> {
  const { serviceKey, secret } = await createServiceKeys({ db: h.db, keyPrefix: h.config.keyPrefix }).create({
    name: 'saas-backend',
    permissions: [...permissions],
    workspaceIds,
  });
  const client = new Client(h.app) as Client & { serviceKeyId: string; secret: string };
  client.bearer = secret;
  client.serviceKeyId = serviceKey.id;
  client.secret = secret;
  return client;
}

export function uniqueEmail(label = 'user'): string {
  return `${label}-${randomBytes(5).toString('hex')}@example.com`;
}

export interface Tenant {
  client: Client;
  workspaceId: string;
  email: string;
  userId: string;
  keys: string;
}

/**
 * A fresh owner and workspace for one test. The first tenant of a suite goes through first-run setup;
 * later ones are users added to that first workspace who then create their own workspace, as a person would.
 */
export async function newTenant(h: Harness): Promise<Tenant> {
  const email = uniqueEmail('owner');
  const client = new Client(h.app);
  const setup = await client.post('/v1/setup', { email, password: PASSWORD, workspace_name: 'Acme' });
  if (setup.status === 201) {
    const workspaceId = setup.body.workspace.id as string;
    return { client, workspaceId, email, userId: setup.body.user.id, keys: `/v1/workspaces/${workspaceId}/api-keys` };
  }
  await addUser(h, email);
  const login = await client.post('/v1/auth/login', { email, password: PASSWORD });
  if (login.status !== 200) throw new Error(`login failed: ${login.raw}`);
  const workspace = await client.post('/v1/workspaces', { name: 'Acme' });
  if (workspace.status !== 201) throw new Error(`workspace failed: ${workspace.raw}`);
  const workspaceId = workspace.body.id as string;
  return { client, workspaceId, email, userId: login.body.user.id, keys: `/v1/workspaces/${workspaceId}/api-keys` };
}

/** Creates a user with no workspace, straight in the database (the password hash is computed once per run). */
let passwordHash: Promise<string> | undefined;
export async function addUser(h: Harness, email: string): Promise<string> {
  const { hashPassword } = await import('../src/accounts/password.js');
  const { newId } = await import('../src/ids.js');
  passwordHash ??= hashPassword(PASSWORD);
  const id = newId('usr');
  await h.db.insertInto('users').values({ id, email, password_hash: await passwordHash }).execute();
  return id;
}

/** Signs a user in as a new client. */
export async function signIn(h: Harness, email: string, password = PASSWORD): Promise<Client> {
  const client = new Client(h.app);
  const reply = await client.post('/v1/auth/login', { email, password });
  if (reply.status !== 200) throw new Error(`login failed: ${reply.raw}`);
  return client;
}

/** A key as an Owner creates it from the console: any fields not given get sensible values. */
export async function createKey(tenant: Tenant, fields: Record<string, unknown> = {}): Promise<Reply> {
  return tenant.client.post(tenant.keys, { name: 'crm-sync', scopes: ['conversations:read'], ...fields });
}

/** A call to the protected API as an integration makes it. */
export async function apiCall(
  h: Harness,
  secret: string | null,
  path: string,
  options: { method?: 'GET' | 'POST' | 'PATCH' | 'DELETE'; ip?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const response = await h.app.inject({
    method: options.method ?? 'GET',
    url: path,
    remoteAddress: options.ip ?? '127.0.0.1',
    headers: {
      ...(secret === null ? {} : { authorization: `Bearer ${secret}` }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { payload: JSON.stringify(options.body) }),
  });
  return toReply(response);
}

/**
 * Moves the suite's clock to just after the start of the next minute, so that a test's requests all fall
 * in one rate-limit window however long it takes (well under a minute). Returns the way back.
 */
export function atStartOfMinute(h: Harness): () => void {
  const seconds = (60_000 - (h.clock.now.getTime() % 60_000) + 200) / 1000;
  h.clock.advance(seconds);
  return () => h.clock.advance(-seconds);
}
