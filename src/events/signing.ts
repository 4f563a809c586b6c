import { createHmac, randomBytes } from 'node:crypto';

/** `whsec_` and 32 random bytes: shown once when an endpoint is made or its secret rotated. */
export function newEndpointSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** How long a rotated secret keeps signing beside its successor. */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;

/**
 * `Latchkey-Signature`, Stripe's scheme: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, with one
 * `v1=` per secret that signs (two during a rotation's overlap). The secret, prefix included, is the key.
 */
export function signatureHeader(body: string, secrets: readonly string[], timestampSeconds: number): string {
  const signed = `${timestampSeconds}.${body}`;
  return [`t=${timestampSeconds}`, ...secrets.map((secret) => `v1=${createHmac('sha256', secret).update(signed).digest('hex')}`)].join(',');
}
