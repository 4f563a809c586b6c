import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';

/** What Latchkey's gateway says about the caller in `Latchkey-Principal` (PRODUCT.md "Gateway mode"). */
export interface PrincipalClaims {
  iss: string;
  /** The API key's id (`key_…`). */
  sub: string;
  /** The upstream's name in the product file. */
  aud: string;
  iat: number;
  exp: number;
  key_name: string;
  workspace_id: string;
  /** Your own id for the customer (the workspace's external id), when you gave one. */
  workspace_external_id: string | null;
  mode: 'live' | 'test';
  scopes: string[];
  meta: Record<string, unknown>;
  /**
   * The call's request id (the caller's `Request-Id`, the audit event's), only when the product file says
   * `gateway.sign_every_call: true`; by default a token is reused for a key's calls for up to 30 s and the
   * call's id is in the `Latchkey-Request-Id` header.
   */
  request_id?: string;
}

export interface VerifyPrincipalOptions {
  /** Latchkey's public keys, e.g. https://latchkey.internal:3000/.well-known/jwks.json. */
  jwksUrl: string | URL;
  /** This API's upstream name in the product file: a token made for another upstream is refused. */
  audience: string;
  /** Default 'latchkey'. */
  issuer?: string;
}

export type PrincipalErrorCode =
  | 'missing'
  | 'malformed'
  | 'invalid_signature'
  | 'unknown_key'
  | 'expired'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'invalid_claims'
  | 'jwks_unavailable';

/**
 * The request did not come through the gateway, or not as it claims (every code but `jwks_unavailable`):
 * answer 401. `jwks_unavailable`: Latchkey's keys could not be fetched, so nothing can be checked: answer 503.
 */
export class LatchkeyPrincipalError extends Error {
  override readonly name = 'LatchkeyPrincipalError';
  constructor(
    readonly code: PrincipalErrorCode,
    message: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
  }
}

/** Matches Latchkey's `Cache-Control: max-age=300` on the JWKS; an unknown `kid` fetches it again sooner. */
const JWKS_CACHE_MS = 300_000;
/** Clocks of Latchkey and of this API may differ a little; the token lives 60 s. */
const CLOCK_TOLERANCE_S = 5;
/** A token is well under this; a longer header is refused before any work. */
const MAX_TOKEN_LENGTH = 64 * 1024;

// One key set per URL for the life of the process: its cache is what spares a fetch per request.
const keySets = new Map<string, JWTVerifyGetKey>();

function keySetFor(url: string | URL): JWTVerifyGetKey {
  const href = String(url);
  let keySet = keySets.get(href);
  if (!keySet) keySets.set(href, (keySet = createRemoteJWKSet(new URL(href), { cacheMaxAge: JWKS_CACHE_MS })));
  return keySet;
}

/**
 * Checks the `Latchkey-Principal` header the gateway added, with only Latchkey's JWKS URL: the signature
 * (EdDSA, by a key the JWKS publishes), the issuer, this API as the audience, the expiry. Resolves with the
 * caller; rejects with LatchkeyPrincipalError.
 */
export async function verifyPrincipal(header: string | string[] | null | undefined, options: VerifyPrincipalOptions): Promise<PrincipalClaims> {
  if (header === undefined || header === null || header === '') throw new LatchkeyPrincipalError('missing', 'No Latchkey-Principal header: the request did not come through the gateway.');
  if (typeof header !== 'string') throw new LatchkeyPrincipalError('malformed', 'More than one Latchkey-Principal header.');
  if (header.length > MAX_TOKEN_LENGTH) throw new LatchkeyPrincipalError('malformed', 'The Latchkey-Principal header is too long to be a token.');
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(header, keySetFor(options.jwksUrl), {
      algorithms: ['EdDSA'],
      typ: 'JWT',
      issuer: options.issuer ?? 'latchkey',
      audience: options.audience,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['sub', 'iat', 'exp'],
    }));
  } catch (error) {
    throw refusal(error);
  }
  if (!isPrincipal(payload)) throw new LatchkeyPrincipalError('invalid_claims', 'The Latchkey-Principal token lacks claims a principal has.');
  return payload;
}

function refusal(error: unknown): LatchkeyPrincipalError {
  const because = { cause: error };
  if (error instanceof errors.JWTExpired) return new LatchkeyPrincipalError('expired', 'The Latchkey-Principal token has expired.', because);
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return new LatchkeyPrincipalError('wrong_audience', 'The Latchkey-Principal token was made for another upstream.', because);
    if (error.claim === 'iss') return new LatchkeyPrincipalError('wrong_issuer', 'The Latchkey-Principal token was not issued by Latchkey.', because);
    return new LatchkeyPrincipalError('invalid_claims', `The Latchkey-Principal token's ${error.claim} claim is refused: ${error.reason}.`, because);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new LatchkeyPrincipalError('invalid_signature', "The Latchkey-Principal token's signature is not valid.", because);
  if (error instanceof errors.JWKSNoMatchingKey) return new LatchkeyPrincipalError('unknown_key', 'The Latchkey-Principal token was signed by a key Latchkey does not publish.', because);
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new LatchkeyPrincipalError('malformed', 'The Latchkey-Principal header is not a token Latchkey makes.', because);
  }
  // A timeout, a refused connection, a JWKS that is not one: the keys are not at hand, the token is not at fault.
  return new LatchkeyPrincipalError('jwks_unavailable', `Latchkey's public keys could not be fetched from the JWKS URL: ${error instanceof Error ? error.message : String(error)}`, because);
}

function isPrincipal(payload: unknown): payload is PrincipalClaims {
  const p = payload as Partial<Record<keyof PrincipalClaims, unknown>>;
  return (
    typeof p.sub === 'string' &&
    typeof p.key_name === 'string' &&
    typeof p.workspace_id === 'string' &&
    (p.workspace_external_id === null || typeof p.workspace_external_id === 'string') &&
    (p.mode === 'live' || p.mode === 'test') &&
    Array.isArray(p.scopes) &&
    p.scopes.every((scope) => typeof scope === 'string') &&
    typeof p.meta === 'object' &&
    p.meta !== null &&
    (p.request_id === undefined || typeof p.request_id === 'string')
  );
}
