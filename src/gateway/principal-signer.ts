import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Principal } from '../auth/principal.js';
import type { Db } from '../db/client.js';

/**
 * Signs `Latchkey-Principal` (PRODUCT.md "Gateway mode"): a compact JWS, EdDSA over Ed25519, with `kid`,
 * 60 s of life and the upstream's name as audience. Synchronous: it runs on every proxied call.
 */
export interface PrincipalSigner {
  sign(principal: Principal, audience: string, requestId: string): string;
  /** The public keys upstreams verify with, as `GET /.well-known/jwks.json` serves them. */
  jwks(): { keys: Record<string, unknown>[] };
  close(): Promise<void>;
}

/** How long a Latchkey-Principal token is valid (s). */
export const TOKEN_LIFETIME_S = 60;

export const ISSUER = 'latchkey';

/** FIRST DRAFT (replaced by the database-backed signer): one key made at start, kept in memory. */
export interface PrincipalSignerDeps {
  db: Db;
  now: () => Date;
  /** GATEWAY_SIGNING_KEY: an Ed25519 private key (PKCS #8 PEM) the operator provides. */
  configuredKey: string | undefined;
  log: FastifyBaseLogger;
}

export async function createPrincipalSigner(_deps: PrincipalSignerDeps): Promise<PrincipalSigner> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const kid = createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x })).digest('base64url');
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid, typ: 'JWT' })).toString('base64url');
  return {
    sign: (principal, audience, requestId) => signToken(privateKey, header, principal, audience, requestId),
    jwks: () => ({ keys: [{ ...jwk, kid, alg: 'EdDSA', use: 'sig' }] }),
    close: async () => {},
  };
}

function signToken(key: KeyObject, header: string, principal: Principal, audience: string, requestId: string): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: ISSUER,
    sub: principal.keyId,
    aud: audience,
    iat: now,
    exp: now + TOKEN_LIFETIME_S,
    key_name: principal.keyName,
    workspace_id: principal.workspaceId,
    workspace_external_id: principal.workspaceExternalId,
    mode: principal.mode,
    scopes: [...principal.scopes],
    meta: principal.meta,
    request_id: requestId,
  };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}
