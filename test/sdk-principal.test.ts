import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { after, before, it } from 'node:test';
import { LatchkeyPrincipalError, verifyPrincipal, type PrincipalErrorCode } from '../packages/sdk/src/index.js';
import { rotateSigningKey } from '../src/gateway/signing-keys.js';
import { createKey, describeEachBackend, newTenant, type Harness } from './harness.js';
import { freePort } from './process.js';
import { callThroughGateway, SCOPE, UPSTREAM, writeProductFile } from './fixtures/gateway-signing/upstream.js';
import { startHandUpstream } from './fixtures/gateway/upstreams.js';

/**
 * An upstream's side of gateway mode: `verifyPrincipal` checks the Latchkey-Principal a real Latchkey
 * gateway sent, with nothing but the JWKS URL of a real Latchkey listening on a port.
 */

// It answers every call with the headers it received: the Latchkey-Principal the gateway sent.
const upstream = await startHandUpstream(UPSTREAM);
const PRODUCT_FILE = writeProductFile(upstream.url);
after(() => upstream.stop());

function kidOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
}

async function refusal(token: string | undefined, options: Parameters<typeof verifyPrincipal>[1]): Promise<PrincipalErrorCode> {
  const error = await verifyPrincipal(token, options).then(
    () => assert.fail('the token was accepted'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof LatchkeyPrincipalError, String(error));
  return error.code;
}

/** A token as Latchkey makes it, signed with a key of the caller's choosing. */
function forge(claims: Record<string, unknown>, kid: string): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const input = `${Buffer.from(JSON.stringify({ alg: 'EdDSA', kid, typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
}

describeEachBackend(
  'SDK verifyPrincipal against a real Latchkey',
  (harness) => {
    let jwksUrl: string;
    let secret: string;
    let keyId: string;
    let workspaceId: string;

    before(async () => {
      const h = harness();
      const address = await h.app.listen({ port: 0, host: '127.0.0.1' });
      jwksUrl = `${address}/.well-known/jwks.json`;
      const tenant = await newTenant(h);
      const key = (await createKey(tenant, { name: 'erp', scopes: [SCOPE], meta: { plan: 'pro' } })).body;
      secret = key.secret;
      keyId = key.id;
      workspaceId = tenant.workspaceId;
    });

    const token = async (h: Harness) => (await callThroughGateway(h.app.gateway!, secret)).principal;

    it('verifies the gateway\'s token with only the JWKS URL and answers the caller', async () => {
      const h = harness();
      const claims = await verifyPrincipal(await token(h), { jwksUrl, audience: UPSTREAM });
      assert.equal(claims.sub, keyId);
      assert.equal(claims.aud, UPSTREAM);
      assert.equal(claims.iss, 'latchkey');
      assert.equal(claims.workspace_id, workspaceId);
      assert.equal(claims.workspace_external_id, null);
      assert.equal(claims.key_name, 'erp');
      assert.equal(claims.mode, 'live');
      assert.deepEqual(claims.scopes, [SCOPE]);
      assert.deepEqual(claims.meta, { plan: 'pro' });
      assert.equal(claims.request_id, undefined, 'a reused token (the default) has no request_id');
    });

    it('refuses a missing or malformed header, a forged signature, another audience or issuer, an expired token, another key', async () => {
      const h = harness();
      const options = { jwksUrl, audience: UPSTREAM };
      const good = await token(h);
      const [header, payload, signature] = good.split('.') as [string, string, string];

      assert.equal(await refusal(undefined, options), 'missing');
      assert.equal(await refusal('', options), 'missing');
      assert.equal(await refusal('not.a.token', options), 'malformed');
      assert.equal(await refusal(`${header}.${payload}`, options), 'malformed');

      // The claims changed (another key id), the signature kept.
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
      const changed = Buffer.from(JSON.stringify({ ...claims, sub: 'key_someone_else' })).toString('base64url');
      assert.equal(await refusal(`${header}.${changed}.${signature}`, options), 'invalid_signature');

      assert.equal(await refusal(good, { jwksUrl, audience: 'billing' }), 'wrong_audience');
      assert.equal(await refusal(good, { ...options, issuer: 'someone-else' }), 'wrong_issuer');

      // Signed by a key Latchkey does not have: under a kid of its own, or under Latchkey's kid.
      assert.equal(await refusal(forge(claims, 'not-a-latchkey-key'), options), 'unknown_key');
      assert.equal(await refusal(forge(claims, kidOf(good)), options), 'invalid_signature');
      // Not EdDSA at all.
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
      assert.equal(await refusal(none, options), 'malformed');

      // Made two minutes ago by the app's clock: its 60 s are over.
      h.clock.advance(-120);
      let old: string;
      try {
        old = await token(h);
      } finally {
        h.clock.advance(120);
      }
      assert.equal(await refusal(old, options), 'expired');

      // No Latchkey at that address: the keys cannot be had, which is not the token's fault.
      assert.equal(await refusal(good, { jwksUrl: `http://127.0.0.1:${await freePort()}/.well-known/jwks.json`, audience: UPSTREAM }), 'jwks_unavailable');
    });

    it('a rotation while the verifier holds a cached JWKS never fails a verification, nor makes it fetch the JWKS sooner', async (t) => {
      const h = harness();
      // A URL of its own, so that the verifier's cache starts in this test.
      const options = { jwksUrl: `${jwksUrl}?rotation`, audience: UPSTREAM };
      // One clock for Latchkey (the harness's follows Date.now()) and for the verifier's JWKS cache.
      t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
      const fetchedAt: number[] = [];
      const realFetch = globalThis.fetch;
      t.mock.method(globalThis, 'fetch', (...args: Parameters<typeof fetch>) => {
        fetchedAt.push(Date.now());
        return realFetch(...args);
      });

      const first = await token(h);
      await verifyPrincipal(first, options);
      const rotation = await rotateSigningKey(h.db, h.clock.now);
      assert.notEqual(rotation.kid, kidOf(first));

      // Every 20 s for 11 minutes: Latchkey reloads its keys each minute, the verifier's cache ages out
      // after 5, the new key signs after 10. Every token verifies throughout.
      let signedByNewKey = 0;
      for (let elapsed = 20; elapsed <= 11 * 60; elapsed += 20) {
        t.mock.timers.tick(20_000);
        const current = await token(h);
        const claims = await verifyPrincipal(current, options);
        assert.equal(claims.sub, keyId);
        if (kidOf(current) === rotation.kid) signedByNewKey++;
      }
      assert.ok(signedByNewKey > 0, 'the new key signs after PUBLISH_AHEAD');
      // The verifier fetched the JWKS only when its copy was 5 minutes old: never because a token named
      // a key its copy did not have.
      assert.ok(fetchedAt.length >= 2);
      for (let i = 1; i < fetchedAt.length; i++) assert.ok(fetchedAt[i]! - fetchedAt[i - 1]! >= 300_000, `fetches at ${fetchedAt.map((at) => at - fetchedAt[0]!).join(', ')} ms`);
    });
  },
  { env: { PRODUCT_FILE } },
);
