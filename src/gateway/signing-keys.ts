import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { sql } from 'kysely';
import type { Db, Executor } from '../db/client.js';

/**
 * The Ed25519 keys that sign Latchkey-Principal, kept in `gateway_signing_keys` so that every instance
 * signs with the same key and publishes the same JWKS.
 *
 * Rotation never makes a verification fail: a new key is published PUBLISH_AHEAD_MS before it signs, which
 * is longer than an upstream's cached JWKS lives (JWKS_MAX_AGE_S) plus the time an instance takes to load
 * the new key (REFRESH_MS); so every upstream holds the new key before the first token it signs.
 */

/** The JWKS's Cache-Control max-age: how long an upstream may keep a JWKS without asking again. */
export const JWKS_MAX_AGE_S = 300;
/** How often each instance reloads the keys from the database. */
export const REFRESH_MS = 60_000;
/** How long before it signs a rotated key is published: more than JWKS_MAX_AGE_S + REFRESH_MS. */
export const PUBLISH_AHEAD_MS = 10 * 60_000;
/** How long a Latchkey-Principal token is valid (s). */
export const TOKEN_LIFETIME_S = 60;

export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: PublicJwk;
  /** Published from when it is loaded; signs from this instant. */
  signsFrom: Date;
  /** Published until this instant (null: no newer key has replaced it yet). */
  retiredAt: Date | null;
}

/** The public half as a JWK, with `kid` the RFC 7638 thumbprint: the same key gets the same id everywhere. */
export function publicJwkOf(privateKey: KeyObject): PublicJwk {
  const { x } = privateKey.export({ format: 'jwk' }) as { x: string };
  // RFC 7638: the required members in lexicographic order, no spaces.
  const kid = createHash('sha256').update(JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x })).digest('base64url');
  return { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' };
}

/** An operator's PEM as a signing key, or why it cannot be one, said without repeating the PEM. */
export function readSigningPem(pem: string): { key: KeyObject } | { problem: string } {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    return { problem: 'is not a private key in PEM (PKCS #8: -----BEGIN PRIVATE KEY-----)' };
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    return { problem: `is a ${key.asymmetricKeyType ?? 'unknown'} key; Latchkey-Principal is signed with Ed25519 (openssl genpkey -algorithm ed25519)` };
  }
  return { key };
}

function newKey(signsFrom: Date): { kid: string; private_key: string; public_jwk: string; signs_from: Date } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicJwkOf(privateKey);
  return { kid: jwk.kid, private_key: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, public_jwk: JSON.stringify(jwk), signs_from: signsFrom };
}

/**
 * Instances starting together must end with one key, not one each: the table lock (which plain reads do
 * not wait for) makes the second wait for the first's insert, then see it.
 */
async function lockKeys(tx: Executor): Promise<void> {
  await sql`lock table gateway_signing_keys in exclusive mode`.execute(tx);
}

/** On a gateway's first start: a key that signs at once (no upstream can hold an older JWKS). */
export async function ensureSigningKey(db: Db, now: Date): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await lockKeys(tx);
    const existing = await tx.selectFrom('gateway_signing_keys').select('kid').limit(1).executeTakeFirst();
    if (!existing) await tx.insertInto('gateway_signing_keys').values(newKey(now)).execute();
  });
}

export interface Rotation {
  kid: string;
  signsFrom: Date;
  /** The keys it replaces and when each leaves the JWKS. */
  retired: Array<{ kid: string; retiredAt: Date }>;
}

/**
 * A new key, published now and signing PUBLISH_AHEAD_MS from now. The keys it replaces leave the JWKS
 * one token lifetime and one JWKS max-age after it starts signing: their last tokens have expired by then,
 * with a margin as wide as an upstream's cache for instances whose clocks differ a little.
 * With no key yet (the gateway never started), the new key signs at once.
 */
export async function rotateSigningKey(db: Db, now: Date): Promise<Rotation> {
  return db.transaction().execute(async (tx) => {
    await lockKeys(tx);
    const keys = await tx.selectFrom('gateway_signing_keys').select(['kid', 'retired_at']).execute();
    const current = keys.filter((key) => key.retired_at === null);
    const signsFrom = keys.length > 0 ? new Date(now.getTime() + PUBLISH_AHEAD_MS) : now;
    const retiredAt = new Date(signsFrom.getTime() + (TOKEN_LIFETIME_S + JWKS_MAX_AGE_S) * 1000);
    if (current.length > 0) await tx.updateTable('gateway_signing_keys').set({ retired_at: retiredAt }).where('retired_at', 'is', null).execute();
    const key = newKey(signsFrom);
    await tx.insertInto('gateway_signing_keys').values(key).execute();
    return { kid: key.kid, signsFrom, retired: current.map((row) => ({ kid: row.kid, retiredAt })) };
  });
}

/** The keys still published at `now`: those not retired, or retired later than now. */
export async function loadPublishedKeys(db: Db, now: Date): Promise<SigningKey[]> {
  const rows = await db
    .selectFrom('gateway_signing_keys')
    .select(['kid', 'private_key', 'public_jwk', 'signs_from', 'retired_at'])
    .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', now)]))
    .orderBy('signs_from')
    .execute();
  return rows.map((row) => ({
    kid: row.kid,
    privateKey: createPrivateKey({ key: row.private_key, format: 'pem' }),
    publicJwk: row.public_jwk as unknown as PublicJwk,
    signsFrom: row.signs_from,
    retiredAt: row.retired_at,
  }));
}
