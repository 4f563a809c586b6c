import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { createAuthenticator } from '../src/auth/authenticator.js';
import { KeyCache } from '../src/auth/key-cache.js';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase, type Db } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { createKeysRepo } from '../src/keys/keys-repo.js';
import { warnOfInertScopes } from '../src/product/inert-scopes.js';
import { createMemoryStore } from '../src/ratelimit/memory-store.js';
import { apiCall, Client, describeEachBackend, newTenant, PASSWORD, serviceClient, type Harness } from './harness.js';
import { createTestDatabase, describeOrSkip, postgresSkipReason } from './services.js';

const folder = mkdtempSync(join(tmpdir(), 'latchkey-product-file-'));

/** A YAML product file with these scopes (`scope: Group` pairs), key_prefix acme; returns its path. */
function productFile(name: string, scopes: Record<string, string>): string {
  const path = join(folder, `${name}.product.yaml`);
  const lines = Object.entries(scopes).map(([scope, group]) => `  - { scope: "${scope}", group: ${group}, description: "Lets a key ${scope}" }`);
  writeFileSync(path, `name: Acme CRM\nkey_prefix: acme\naccent_color: "#7c3aed"\nscopes:\n${lines.join('\n')}\n`);
  return path;
}

const ACME = productFile('acme', { 'invoices:read': 'Invoices', 'invoices:write': 'Invoices', 'customers:read': 'Customers' });

describeEachBackend(
  'a deployment with its own product file',
  (harness) => {
    it('GET /v1/scopes lists exactly the file\'s scopes, with group and description', async () => {
      const tenant = await newTenant(harness());
      const reply = await tenant.client.get('/v1/scopes');
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body.data, [
        { scope: 'invoices:read', group: 'Invoices', description: 'Lets a key invoices:read', allows: 'Lets a key invoices:read' },
        { scope: 'invoices:write', group: 'Invoices', description: 'Lets a key invoices:write', allows: 'Lets a key invoices:write' },
        { scope: 'customers:read', group: 'Customers', description: 'Lets a key customers:read', allows: 'Lets a key customers:read' },
      ]);
      const service = await serviceClient(harness(), ['keys:read']);
      assert.equal((await service.get('/v1/scopes')).status, 200, 'a service key reads the catalog too');
    });

    it('GET /v1/product names the product for the console, signed in or not', async () => {
      const reply = await new Client(harness().app).get('/v1/product');
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, { object: 'product', name: 'Acme CRM', accent_color: '#7c3aed' });
    });

    it('refuses a key with a reference scope (400, param scopes), and keys start acme_live_', async () => {
      const tenant = await newTenant(harness());
      const refused = await tenant.client.post(tenant.keys, { name: 'crm-sync', scopes: ['invoices:read', 'contacts:read'] });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.code, 'invalid_request');
      assert.equal(refused.body.error.param, 'scopes.1');
      assert.match(refused.body.error.message, /Unknown scope: contacts:read/);

      const created = await tenant.client.post(tenant.keys, { name: 'crm-sync', scopes: ['invoices:read', 'customers:read'] });
      assert.equal(created.status, 201, created.raw);
      assert.match(created.body.secret, /^acme_live_/);
      assert.deepEqual(created.body.scopes, ['invoices:read', 'customers:read']);
      assert.deepEqual(created.body.inert_scopes, []);
      const test = await tenant.client.post(tenant.keys, { name: 'ci', mode: 'test', scopes: ['invoices:write'] });
      assert.match(test.body.secret, /^acme_test_/);

      const patched = await tenant.client.patch(`${tenant.keys}/${created.body.id}`, { scopes: ['tickets:read'] });
      assert.equal(patched.status, 400);
      assert.equal(patched.body.error.param, 'scopes.0');
    });

    it('/openapi.json lists the product\'s scopes and name, not the reference product\'s', async () => {
      const reply = await harness().app.inject({ url: '/openapi.json' });
      assert.equal(reply.statusCode, 200);
      const doc = reply.json() as { info: { title: string; description: string }; paths: Record<string, unknown>; 'x-scopes': Array<{ scope: string }> };
      assert.equal(doc.info.title, 'Acme CRM API');
      assert.deepEqual(doc['x-scopes'].map((s) => s.scope), ['invoices:read', 'invoices:write', 'customers:read']);
      for (const scope of ['invoices:read', 'invoices:write', 'customers:read']) assert.ok(doc.info.description.includes(`\`${scope}\``), scope);
      for (const scope of ['contacts:read', 'conversations:read', 'keys:rotate_self']) assert.ok(!reply.body.includes(scope), `${scope} is not documented`);
      assert.match(doc.info.description, /acme_live_/);
      assert.deepEqual(Object.keys(doc.paths).filter((path) => path.startsWith('/api/')).sort(), ['/api/v1/api_keys/current', '/api/v1/ping'], 'no reference resource, no self-rotation without keys:rotate_self');
    });

    it('serves none of the reference resources: /api/v1/contacts answers 404 even to a good key', async () => {
      const h = harness();
      const tenant = await newTenant(h);
      const key = await tenant.client.post(tenant.keys, { name: 'crm-sync', scopes: ['invoices:read'] });
      for (const path of ['/api/v1/contacts', '/api/v1/tickets', '/api/v1/conversations']) {
        const reply = await apiCall(h, key.body.secret, path);
        assert.equal(reply.status, 404, path);
        assert.equal(reply.body.error.code, 'not_found', path);
      }
      const ping = await apiCall(h, key.body.secret, '/api/v1/ping');
      assert.equal(ping.status, 200);
      const current = await apiCall(h, key.body.secret, '/api/v1/api_keys/current');
      assert.equal(current.status, 200);
      assert.deepEqual(current.body.scopes, ['invoices:read']);
      assert.equal((await apiCall(h, key.body.secret, '/api/v1/api_keys/current/rotate', { method: 'POST' })).status, 404, 'keys:rotate_self is not in this catalog');
    });
  },
  { env: { PRODUCT_FILE: ACME } },
);

/** One start of an installation on a database that outlives it (a PGlite folder, or a PostgreSQL database). */
interface Start {
  app: FastifyInstance;
  db: Db;
  config: Config;
  warnings: string[];
  close(): Promise<void>;
}

async function start(target: { DATA_DIR: string } | { DATABASE_URL: string }, productPath: string): Promise<Start> {
  const config = loadConfig({ ...target, PRODUCT_FILE: productPath });
  const { db } = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  await migrateToLatest(db);
  const app = await buildApp({ config, db, logger: pino({ level: 'silent' }), usageFlushMs: 50 });
  await app.ready();
  const warnings: string[] = [];
  // What server.ts does after building the app.
  await warnOfInertScopes(db, config.product, { warn: (_fields, message) => warnings.push(message) });
  return {
    app,
    db,
    config,
    warnings,
    async close() {
      await app.close();
      await db.destroy();
    },
  };
}

/** The scopes the authenticator grants the key (its principal's), as a fresh instance reads them from storage. */
async function grantedScopes(s: Start, secret: string): Promise<string[]> {
  const authenticator = createAuthenticator({
    db: s.db,
    repo: createKeysRepo(),
    cache: new KeyCache(),
    rateLimits: createMemoryStore(),
    usage: { record: () => {} },
    keyPrefix: s.config.keyPrefix,
    isScope: s.config.product.isScope,
    authFailuresPerMinute: 30,
    now: () => new Date(),
  });
  const { principal } = await authenticator.authenticate(`Bearer ${secret}`, '127.0.0.1', {});
  return [...principal.scopes].sort();
}

async function signedIn(s: Start, email: string): Promise<Client> {
  const client = new Client(s.app);
  const login = await client.post('/v1/auth/login', { email, password: PASSWORD });
  assert.equal(login.status, 200, login.raw);
  return client;
}

const WITH_ROTATION = productFile('with-rotation', { 'invoices:read': 'Invoices', 'keys:rotate_self': 'API keys', 'customers:read': 'Customers' });
const WITHOUT_ROTATION = productFile('without-rotation', { 'invoices:read': 'Invoices', 'customers:read': 'Customers' });

for (const backend of ['pglite', 'postgres'] as const) {
  const skip = backend === 'postgres' && postgresSkipReason ? postgresSkipReason : false;
  describeOrSkip(`a scope removed from the product file while keys hold it [${backend}]`, { skip }, () => {
    let target: { DATA_DIR: string } | { DATABASE_URL: string };
    let drop: (() => Promise<void>) | undefined;
    before(async () => {
      if (backend === 'pglite') target = { DATA_DIR: mkdtempSync(join(tmpdir(), 'latchkey-inert-')) };
      else {
        const database = await createTestDatabase();
        target = { DATABASE_URL: database.url };
        drop = database.drop;
      }
    });
    after(async () => {
      await drop?.();
    });

    it('stays on the key inert: granted nothing, shown apart, warned at start, working again when the file lists it again', async () => {
      // First start: the catalog has keys:rotate_self, and a key is given it.
      let s = await start(target, WITH_ROTATION);
      const tenant = await newTenant(s as unknown as Harness);
      const created = await tenant.client.post(tenant.keys, { name: 'rotator', scopes: ['invoices:read', 'keys:rotate_self'] });
      assert.equal(created.status, 201, created.raw);
      const { id, secret } = created.body as { id: string; secret: string };
      const keyUrl = `${tenant.keys}/${id}`;
      assert.deepEqual(s.warnings, []);
      await s.close();

      // Second start: the file no longer lists it.
      s = await start(target, WITHOUT_ROTATION);
      assert.equal(s.warnings.length, 1);
      assert.match(s.warnings[0]!, /keys:rotate_self \(1 key\)/);
      let client = await signedIn(s, tenant.email);
      let key = await client.get(keyUrl);
      assert.equal(key.status, 200);
      assert.deepEqual(key.body.scopes, ['invoices:read']);
      assert.deepEqual(key.body.inert_scopes, ['keys:rotate_self']);
      assert.deepEqual(await grantedScopes(s, secret), ['invoices:read'], 'the inert scope grants nothing');
      const self = await apiCall(s as unknown as Harness, secret, '/api/v1/api_keys/current');
      assert.equal(self.status, 200);
      assert.deepEqual(self.body.scopes, ['invoices:read']);
      assert.equal((await apiCall(s as unknown as Harness, secret, '/api/v1/api_keys/current/rotate', { method: 'POST' })).status, 404);

      // It cannot be given again while the file does not list it; changing the other scopes keeps it.
      const refused = await client.patch(keyUrl, { scopes: ['invoices:read', 'keys:rotate_self'] });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.code, 'invalid_request');
      assert.equal(refused.body.error.param, 'scopes.1');
      const changed = await client.patch(keyUrl, { scopes: ['customers:read'] });
      assert.equal(changed.status, 200, changed.raw);
      assert.deepEqual(changed.body.scopes, ['customers:read']);
      assert.deepEqual(changed.body.inert_scopes, ['keys:rotate_self']);
      await s.close();

      // Third start: the file lists it again, and the key works with it again.
      s = await start(target, WITH_ROTATION);
      assert.deepEqual(s.warnings, []);
      client = await signedIn(s, tenant.email);
      key = await client.get(keyUrl);
      assert.deepEqual([...key.body.scopes].sort(), ['customers:read', 'keys:rotate_self']);
      assert.deepEqual(key.body.inert_scopes, []);
      assert.deepEqual(await grantedScopes(s, secret), ['customers:read', 'keys:rotate_self']);
      const rotated = await apiCall(s as unknown as Harness, secret, '/api/v1/api_keys/current/rotate', { method: 'POST' });
      assert.equal(rotated.status, 200, rotated.raw);
      assert.match(rotated.body.secret, /^acme_live_/);
      await s.close();
    });
  });
}
