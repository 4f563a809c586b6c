import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, verify, type JsonWebKeyInput } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import pino from 'pino';
import { ConfigError } from '../src/config.js';
import { openDatabase, type Db } from '../src/db/client.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { createPrincipalSigner, type PrincipalSigner } from '../src/gateway/principal-signer.js';
import { JWKS_MAX_AGE_S, PUBLISH_AHEAD_MS, REFRESH_MS, rotateSigningKey, TOKEN_LIFETIME_S } from '../src/gateway/signing-keys.js';
import type { Principal } from '../src/auth/principal.js';
import { createKey, describeEachBackend, newTenant, postgresSkipReason, type Backend, type Harness } from './harness.js';
import { createTestDatabase, describeOrSkip } from './services.js';
import { callThroughGateway, SCOPE, UPSTREAM, writeProductFile } from './fixtures/gateway-signing/upstream.js';
import { startHandUpstream } from './fixtures/gateway/upstreams.js';

const run = promisify(execFile);
// It answers every call with the headers it received: the Latchkey-Principal the gateway sent.
const upstream = await startHandUpstream(UPSTREAM);
const PRODUCT_FILE = writeProductFile(upstream.url);
after(() => upstream.stop());

const silent = pino({ level: 'silent' });

function decodePart(part: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString()) as Record<string, unknown>;
}

/** A key's call through the gateway; answers the Latchkey-Principal the upstream received, never the key. */
async function principalHeader(h: Harness, secret: string): Promise<string> {
  const received = await callThroughGateway(h.app.gateway!, secret);
  assert.equal(received.authorization, undefined);
  return received.principal;
}

describeEachBackend(
  'gateway signing keys',
  (harness) => {
    it('makes one Ed25519 key on the first start, keeps it in the database and publishes only its public half', async () => {
      const h = harness();
      const rows = await h.db.selectFrom('gateway_signing_keys').selectAll().execute();
      assert.equal(rows.length, 1);
      const row = rows[0]!;
      assert.match(row.private_key, /^-----BEGIN PRIVATE KEY-----\n/);
      assert.equal(row.retired_at, null);
      assert.equal(row.kid, await calculateJwkThumbprint(row.public_jwk as { kty: string; crv: string; x: string }), 'kid is the RFC 7638 thumbprint');

      const jwks = await h.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      assert.equal(jwks.statusCode, 200);
      assert.equal(jwks.headers['cache-control'], 'public, max-age=300');
      assert.doesNotMatch(jwks.body, /"d"/, 'never a private part');
      assert.deepEqual(JSON.parse(jwks.body), { keys: [{ kty: 'OKP', crv: 'Ed25519', x: row.public_jwk.x, kid: row.kid, alg: 'EdDSA', use: 'sig' }] });

      // Another instance (or a restart) on the same database signs with the same key: no second one is made.
      const again = await createPrincipalSigner({ db: h.db, now: () => h.clock.now, configuredKey: undefined, signEveryCall: false, log: silent });
      assert.deepEqual(again.jwks(), JSON.parse(jwks.body));
      await again.close();
      assert.equal((await h.db.selectFrom('gateway_signing_keys').select('kid').execute()).length, 1);
    });

    it('signs proxied calls with the claims PRODUCT.md lists (request_id only when signing every call), for the upstream as audience, verifiable with the JWKS', async () => {
      const h = harness();
      const tenant = await newTenant(h);
      const key = (await createKey(tenant, { name: 'erp', scopes: [SCOPE], meta: { plan: 'pro' } })).body;
      // The suite's clock is the wall clock plus an offset: the call may cross a second boundary.
      const before = Math.floor(h.clock.now.getTime() / 1000);
      const token = await principalHeader(h, key.secret);
      const afterCall = Math.floor(h.clock.now.getTime() / 1000);
      const [header, payload, signature] = token.split('.');
      const kid = (await h.db.selectFrom('gateway_signing_keys').select('kid').executeTakeFirstOrThrow()).kid;
      assert.deepEqual(decodePart(header), { alg: 'EdDSA', kid, typ: 'JWT' });
      const claims = decodePart(payload);
      // The default reuses a token for a key's calls (the call's id travels in Latchkey-Request-Id).
      assert.deepEqual(Object.keys(claims).sort(), ['aud', 'exp', 'iat', 'iss', 'key_name', 'meta', 'mode', 'scopes', 'sub', 'workspace_external_id', 'workspace_id']);
      assert.equal(claims.iss, 'latchkey');
      assert.equal(claims.sub, key.id);
      assert.equal(claims.aud, UPSTREAM);
      assert.equal(claims.exp, (claims.iat as number) + 60);
      assert.ok((claims.iat as number) >= before && (claims.iat as number) <= afterCall, `the app's clock: iat ${String(claims.iat)} in [${before}, ${afterCall}]`);
      assert.deepEqual([claims.key_name, claims.workspace_id, claims.workspace_external_id, claims.mode], ['erp', tenant.workspaceId, null, 'live']);
      assert.deepEqual(claims.scopes, [SCOPE]);
      assert.deepEqual(claims.meta, { plan: 'pro' });

      const jwk = (JSON.parse((await h.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body) as JSONWebKeySet).keys[0]!;
      const publicKey = createPublicKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' });
      assert.ok(verify(null, Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature!, 'base64url')));
      assert.ok(!h.logs.join('').includes('PRIVATE KEY'), 'no private key in the logs');
    });

    it('reuses a token for one key and upstream for 30 s; signs anew after that, for another upstream, for a changed key, and every call with sign_every_call', async () => {
      const h = harness();
      const tenant = await newTenant(h);
      const key = (await createKey(tenant, { name: 'reuse', scopes: [SCOPE] })).body;
      const first = await principalHeader(h, key.secret);
      assert.equal(await principalHeader(h, key.secret), first, 'the same token within 30 s');
      h.clock.advance(31);
      const later = await principalHeader(h, key.secret);
      assert.notEqual(later, first, 'a new token once 30 s have passed: an upstream always gets one with 30 s or more left');
      assert.ok((decodePart(later.split('.')[1]).exp as number) - Math.floor(h.clock.now.getTime() / 1000) >= 30);
      // A changed key is a new cached principal: its token says what it is now.
      assert.equal((await tenant.client.patch(`/v1/workspaces/${tenant.workspaceId}/api-keys/${key.id}`, { name: 'renamed' })).status, 200);
      const renamed = await principalHeader(h, key.secret);
      assert.equal(decodePart(renamed.split('.')[1]).key_name, 'renamed');

      // Signed directly: another audience gets its own token; with signEveryCall each call its own, with its request_id.
      const principal = { keyId: key.id, keyName: 'x', workspaceId: tenant.workspaceId, workspaceExternalId: null, mode: 'live', scopes: new Set([SCOPE]), meta: {} } as unknown as Principal;
      const reusing = await createPrincipalSigner({ db: h.db, now: () => h.clock.now, configuredKey: undefined, signEveryCall: false, log: silent });
      assert.equal(reusing.sign(principal, 'a', 'req_1'), reusing.sign(principal, 'a', 'req_2'));
      assert.notEqual(reusing.sign(principal, 'a', 'req_1'), reusing.sign(principal, 'b', 'req_1'));
      const everyCall = await createPrincipalSigner({ db: h.db, now: () => h.clock.now, configuredKey: undefined, signEveryCall: true, log: silent });
      const [one, two] = [everyCall.sign(principal, 'a', 'req_1'), everyCall.sign(principal, 'a', 'req_2')];
      assert.notEqual(one, two);
      assert.deepEqual([decodePart(one.split('.')[1]).request_id, decodePart(two.split('.')[1]).request_id], ['req_1', 'req_2']);
      await reusing.close();
      await everyCall.close();
    });
  },
  { env: { PRODUCT_FILE } },
);

async function freshDatabase(backend: Backend): Promise<{ db: Db; url: string | undefined; close(): Promise<void> }> {
  const database = backend === 'postgres' ? await createTestDatabase() : null;
  const { db } = openDatabase({ databaseUrl: database?.url, dataDir: 'memory://', poolSize: 4 });
  await migrateToLatest(db);
  return {
    db,
    url: database?.url,
    close: async () => {
      await db.destroy();
      await database?.drop();
    },
  };
}

const PRINCIPAL: Principal = {
  workspaceId: 'ws_1',
  mode: 'live',
  keyId: 'key_1',
  keyName: 'erp',
  secretId: 'sec_1',
  secretVersion: 1,
  scopes: new Set([SCOPE]),
  meta: {},
  workspaceExternalId: null,
  keyExpiresAt: null,
  secretPrefix: 'lk_live_1234',
};

function kidOf(token: string): string {
  return decodePart(token.split('.')[0]).kid as string;
}

/** The signer reloads in the background once its clock says a refresh is due; this waits for the reload to land. */
async function untilPublished(signer: PrincipalSigner, count: number): Promise<void> {
  for (let tries = 0; signer.jwks().keys.length !== count; tries++) {
    if (tries > 200) assert.fail(`the JWKS never had ${count} keys: ${JSON.stringify(signer.jwks())}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

for (const backend of ['pglite', 'postgres'] as const) {
  describeOrSkip(`gateway signing key rotation [${backend}]`, { skip: backend === 'postgres' && postgresSkipReason ? postgresSkipReason : false }, () => {
    it('publishes the new key before it signs, signs with it from signs_from, and keeps the old one until its last token has expired', async () => {
      const database = await freshDatabase(backend);
      let now = new Date('2026-12-03T10:00:00Z').getTime();
      // Each call signed, to see which key signs at each instant (a reused token, at most 30 s old, is also
      // covered: the old key stays published a token lifetime and a max-age past the new key's start).
      const signer = await createPrincipalSigner({ db: database.db, now: () => new Date(now), configuredKey: undefined, signEveryCall: true, log: silent });
      try {
        const before = signer.jwks();
        const old = before.keys[0]!.kid;
        const rotation = await rotateSigningKey(database.db, new Date(now));
        assert.deepEqual(rotation.retired.map((r) => r.kid), [old]);
        assert.equal(rotation.signsFrom.getTime(), now + PUBLISH_AHEAD_MS);
        // The rule that makes a cached JWKS enough: an upstream that fetched it just before the rotation was
        // loaded asks again (max-age) before the new key's first token.
        assert.ok(PUBLISH_AHEAD_MS > JWKS_MAX_AGE_S * 1000 + REFRESH_MS);

        now += REFRESH_MS;
        await untilPublished(signer, 2);
        const published = signer.jwks();
        assert.deepEqual(published.keys.map((k) => k.kid), [old, rotation.kid]);
        const cachedAfterRotation = createLocalJWKSet(published as JSONWebKeySet);
        const cachedBefore = createLocalJWKSet(before as JSONWebKeySet);
        const check = async (keySet: typeof cachedAfterRotation, token: string) =>
          jwtVerify(token, keySet, { algorithms: ['EdDSA'], audience: UPSTREAM, issuer: 'latchkey', currentDate: new Date(now) });

        // Up to signs_from, the old key signs: an upstream still holding the JWKS of before verifies.
        now = rotation.signsFrom.getTime() - 1000;
        const lastOld = signer.sign(PRINCIPAL, UPSTREAM, 'req_1');
        assert.equal(kidOf(lastOld), old);
        await check(cachedBefore, lastOld);

        now = rotation.signsFrom.getTime();
        const firstNew = signer.sign(PRINCIPAL, UPSTREAM, 'req_2');
        assert.equal(kidOf(firstNew), rotation.kid);
        await check(cachedAfterRotation, firstNew);

        // The old key's last token is still checked against a JWKS fetched at any time of its life.
        now = rotation.signsFrom.getTime() - 1000 + (TOKEN_LIFETIME_S - 1) * 1000;
        assert.deepEqual(signer.jwks().keys.map((k) => k.kid), [old, rotation.kid]);
        await check(createLocalJWKSet(signer.jwks() as JSONWebKeySet), lastOld);

        // Past its retirement (a token lifetime and a max-age after the new key's start), only the new key is published.
        const retiredAt = rotation.retired[0]!.retiredAt.getTime();
        assert.equal(retiredAt, rotation.signsFrom.getTime() + (TOKEN_LIFETIME_S + JWKS_MAX_AGE_S) * 1000);
        now = retiredAt - 1;
        assert.equal(signer.jwks().keys.length, 2);
        now = retiredAt;
        assert.deepEqual(signer.jwks().keys.map((k) => k.kid), [rotation.kid]);
        assert.equal(kidOf(signer.sign(PRINCIPAL, UPSTREAM, 'req_3')), rotation.kid);
      } finally {
        await signer.close();
        await database.close();
      }
    });
  });
}

describeOrSkip('gateway signing keys on PostgreSQL', { skip: postgresSkipReason ?? false }, () => {
  it('concurrent first starts of several instances end with one key, which all of them publish', async () => {
    const database = await freshDatabase('postgres');
    // One pool per instance, as separate processes have.
    const instances = Array.from({ length: 6 }, () => openDatabase({ databaseUrl: database.url, poolSize: 2 }).db);
    try {
      const signers = await Promise.all(instances.map((db) => createPrincipalSigner({ db, now: () => new Date(), configuredKey: undefined, signEveryCall: false, log: silent })));
      const rows = await database.db.selectFrom('gateway_signing_keys').select('kid').execute();
      assert.equal(rows.length, 1);
      for (const signer of signers) assert.deepEqual(signer.jwks().keys.map((k) => k.kid), [rows[0]!.kid]);
      await Promise.all(signers.map((signer) => signer.close()));
    } finally {
      await Promise.all(instances.map((db) => db.destroy()));
      await database.close();
    }
  });

  it('the CLI rotates: says the new key and when it signs, never a private key; refused when GATEWAY_SIGNING_KEY is set', async () => {
    const database = await freshDatabase('postgres');
    try {
      const signer = await createPrincipalSigner({ db: database.db, now: () => new Date(), configuredKey: undefined, signEveryCall: false, log: silent });
      const old = signer.jwks().keys[0]!.kid;
      await signer.close();
      const env = { ...process.env, DATABASE_URL: database.url!, PRODUCT_FILE };
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'rotate-gateway-signing-key'], { env });
      const rows = await database.db.selectFrom('gateway_signing_keys').selectAll().orderBy('signs_from').execute();
      assert.equal(rows.length, 2);
      const fresh = rows[1]!;
      assert.equal(stdout, `new gateway signing key ${fresh.kid}: published now (instances load it within a minute), signs from ${fresh.signs_from.toISOString()}\n  ${old} stays published until ${rows[0]!.retired_at!.toISOString()}\n`);
      assert.ok(!`${stdout}${stderr}`.includes('PRIVATE KEY'));

      const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
      const refused = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'rotate-gateway-signing-key'], { env: { ...env, GATEWAY_SIGNING_KEY: pem } }).then(
        () => assert.fail('the CLI rotated keys that do not sign'),
        (error: { code: number; stderr: string }) => error,
      );
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /^latchkey: GATEWAY_SIGNING_KEY is set/);
      assert.equal((await database.db.selectFrom('gateway_signing_keys').select('kid').execute()).length, 2);
    } finally {
      await database.close();
    }
  });
});

describe('GATEWAY_SIGNING_KEY', () => {
  it('signs with the configured key and publishes it, storing nothing', async () => {
    const database = await freshDatabase('pglite');
    try {
      const { privateKey } = generateKeyPairSync('ed25519');
      const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
      const signer = await createPrincipalSigner({ db: database.db, now: () => new Date(), configuredKey: pem, signEveryCall: false, log: silent });
      const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
      const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x! });
      assert.deepEqual(signer.jwks(), { keys: [{ kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid, alg: 'EdDSA', use: 'sig' }] });
      const token = signer.sign(PRINCIPAL, UPSTREAM, 'req_1');
      const { payload } = await jwtVerify(token, createLocalJWKSet(signer.jwks() as JSONWebKeySet), { audience: UPSTREAM, issuer: 'latchkey' });
      assert.equal(payload.sub, 'key_1');
      assert.equal((await database.db.selectFrom('gateway_signing_keys').select('kid').execute()).length, 0);
      await signer.close();
    } finally {
      await database.close();
    }
  });

  it('refuses to start with a PEM that is not an Ed25519 private key, in one line that does not repeat it', async () => {
    const database = await freshDatabase('pglite');
    try {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
      const cases: Array<[string, RegExp]> = [
        ['-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----', /^Invalid configuration: GATEWAY_SIGNING_KEY is not a private key in PEM/],
        [rsa, /^Invalid configuration: GATEWAY_SIGNING_KEY is a rsa key; Latchkey-Principal is signed with Ed25519/],
      ];
      for (const [pem, message] of cases) {
        await assert.rejects(createPrincipalSigner({ db: database.db, now: () => new Date(), configuredKey: pem, signEveryCall: false, log: silent }), (error: Error) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, message);
          assert.doesNotMatch(error.message, /\n/);
          assert.ok(!error.message.includes(pem.split('\n')[1]!), 'the PEM is not repeated');
          return true;
        });
      }
    } finally {
      await database.close();
    }

    const started = await run(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, DATA_DIR: 'memory://', PRODUCT_FILE, PORT: '0', GATEWAY_PORT: '0', GATEWAY_SIGNING_KEY: 'nonsense' },
    }).then(
      () => assert.fail('Latchkey started with a bad GATEWAY_SIGNING_KEY'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(started.code, 1);
    assert.equal(started.stderr, 'Latchkey could not start: Invalid configuration: GATEWAY_SIGNING_KEY is not a private key in PEM (PKCS #8: -----BEGIN PRIVATE KEY-----)\n');
  });
});
