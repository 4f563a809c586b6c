import { sign, type KeyObject } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { ConfigError } from '../config.js';
import type { Db } from '../db/client.js';
import { ensureSigningKey, loadPublishedKeys, publicJwkOf, readSigningPem, REFRESH_MS, TOKEN_LIFETIME_S, type PublicJwk, type SigningKey } from './signing-keys.js';

/**
 * Signs `Latchkey-Principal` (PRODUCT.md "Gateway mode"): a compact JWS, EdDSA over Ed25519, with `kid`,
 * 60 s of life and the upstream's name as audience. Synchronous: it runs on every proxied call.
 */
export interface PrincipalSigner {
  /** The token for this call: signed now, or one signed for the same key and upstream less than 30 s ago. */
  sign(principal: Principal, audience: string, requestId: string): string;
  /** The public keys upstreams verify with, as `GET /.well-known/jwks.json` serves them. */
  jwks(): { keys: PublicJwk[] };
  close(): Promise<void>;
}

export const ISSUER = 'latchkey';

export interface PrincipalSignerDeps {
  db: Db;
  now: () => Date;
  /** GATEWAY_SIGNING_KEY: an Ed25519 private key (PKCS #8 PEM) the operator provides. */
  configuredKey: string | undefined;
  /** The product file's gateway.sign_every_call: a token per call with its request_id, rather than reused ones. */
  signEveryCall: boolean;
  log: FastifyBaseLogger;
}

/**
 * How long a token is reused for the calls of one key to one upstream: half its life, so that an upstream
 * always receives one with at least 30 s left.
 */
export const REUSE_MS = (TOKEN_LIFETIME_S / 2) * 1000;

type Mint = (principal: Principal, audience: string, at: number, requestId: string | null) => string;

/**
 * An Ed25519 signature costs about 35 µs of CPU, more than the rest of a proxied call
 * (bench/results/principal-sign.md, bench/results/gateway.md): so by default a token is made once per
 * key and upstream and reused for REUSE_MS, without `request_id` (the call's own id is in
 * Latchkey-Request-Id). A cached principal is one frozen object per cached key, replaced when the key
 * changes, so a token never outlives what it says. `signEveryCall` signs every call, with its request_id.
 */
function tokens(mint: Mint, now: () => Date, signEveryCall: boolean): PrincipalSigner['sign'] {
  if (signEveryCall) return (principal, audience, requestId) => mint(principal, audience, now().getTime(), requestId);
  const reused = new WeakMap<Principal, Map<string, { token: string; until: number }>>();
  return (principal, audience) => {
    const at = now().getTime();
    let byAudience = reused.get(principal);
    const held = byAudience?.get(audience);
    if (held !== undefined && at < held.until && at >= held.until - REUSE_MS) return held.token;
    const token = mint(principal, audience, at, null);
    if (byAudience === undefined) reused.set(principal, (byAudience = new Map()));
    byAudience.set(audience, { token, until: at + REUSE_MS });
    return token;
  };
}

/** A key ready for the hot path: its JWS header already encoded, its instants as numbers. */
interface ReadyKey {
  privateKey: KeyObject;
  header: string;
  jwk: PublicJwk;
  signsFrom: number;
  retiredAt: number;
}

function ready(key: Pick<SigningKey, 'privateKey' | 'publicJwk' | 'signsFrom' | 'retiredAt'>): ReadyKey {
  return {
    privateKey: key.privateKey,
    header: Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: key.publicJwk.kid, typ: 'JWT' })).toString('base64url'),
    jwk: key.publicJwk,
    signsFrom: key.signsFrom.getTime(),
    retiredAt: key.retiredAt?.getTime() ?? Infinity,
  };
}

/**
 * The operator's GATEWAY_SIGNING_KEY when set (it signs and is the only key published; the database's keys
 * are neither used nor made); else the database's keys, made on the first start and reloaded every
 * REFRESH_MS, so that a rotation done by the CLI (or another instance) reaches this one in time.
 */
export async function createPrincipalSigner(deps: PrincipalSignerDeps): Promise<PrincipalSigner> {
  if (deps.configuredKey !== undefined) return configuredSigner(deps.configuredKey, deps.now, deps.signEveryCall);

  const { db, now, log } = deps;
  await ensureSigningKey(db, now());
  let keys = (await loadPublishedKeys(db, now())).map(ready);
  let loadedAt = now().getTime();
  let reloading: Promise<void> | null = null;

  function reload(): void {
    if (reloading) return;
    // A failed reload keeps the keys in hand (they still sign and verify) and is retried a refresh later.
    loadedAt = now().getTime();
    reloading = loadPublishedKeys(db, now())
      .then(
        (loaded) => {
          keys = loaded.map(ready);
        },
        (error: unknown) => log.warn({ err: error }, 'could not reload the gateway signing keys; signing with the keys already loaded'),
      )
      .finally(() => {
        reloading = null;
      });
  }
  // The timer keeps an idle instance's JWKS fresh; the clock check follows the app's clock (tests move it).
  const timer = setInterval(reload, REFRESH_MS).unref();
  const reloadIfDue = (at: number) => {
    if (at - loadedAt >= REFRESH_MS) reload();
  };

  return {
    sign: tokens(
      (principal, audience, at, requestId) => {
        reloadIfDue(at);
        return signToken(signingKey(keys, at), at, principal, audience, requestId);
      },
      now,
      deps.signEveryCall,
    ),
    jwks() {
      const at = now().getTime();
      reloadIfDue(at);
      return { keys: keys.filter((key) => key.retiredAt > at).map((key) => key.jwk) };
    },
    async close() {
      clearInterval(timer);
      await reloading;
    },
  };
}

function configuredSigner(pem: string, now: () => Date, signEveryCall: boolean): PrincipalSigner {
  const read = readSigningPem(pem);
  if ('problem' in read) throw new ConfigError(`Invalid configuration: GATEWAY_SIGNING_KEY ${read.problem}`);
  const key = ready({ privateKey: read.key, publicJwk: publicJwkOf(read.key), signsFrom: new Date(0), retiredAt: null });
  return {
    sign: tokens((principal, audience, at, requestId) => signToken(key, at, principal, audience, requestId), now, signEveryCall),
    jwks: () => ({ keys: [key.jwk] }),
    close: async () => {},
  };
}

/**
 * The newest key whose time to sign has come (keys are in signs_from order). Should none have come yet on
 * this instance's clock (a first key made by an instance whose clock is ahead), the oldest one signs.
 */
function signingKey(keys: readonly ReadyKey[], at: number): ReadyKey {
  for (let i = keys.length - 1; i > 0; i--) {
    if (keys[i]!.signsFrom <= at) return keys[i]!;
  }
  return keys[0]!;
}

function signToken(key: ReadyKey, at: number, principal: Principal, audience: string, requestId: string | null): string {
  const iat = Math.floor(at / 1000);
  const claims = {
    iss: ISSUER,
    sub: principal.keyId,
    aud: audience,
    iat,
    exp: iat + TOKEN_LIFETIME_S,
    key_name: principal.keyName,
    workspace_id: principal.workspaceId,
    workspace_external_id: principal.workspaceExternalId,
    mode: principal.mode,
    scopes: [...principal.scopes],
    meta: principal.meta,
    ...(requestId === null ? {} : { request_id: requestId }),
  };
  const input = `${key.header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign(null, Buffer.from(input), key.privateKey).toString('base64url')}`;
}
