import type { FastifyRequest } from 'fastify';
import type { Mode } from '../db/schema.js';

/** The verified caller of a /api/v1 request: which key, for which workspace and which view of its data. */
export interface Principal {
  workspaceId: string;
  /** Test keys see only the test view, live keys only the live view. */
  mode: Mode;
  keyId: string;
  keyName: string;
  secretId: string;
  secretVersion: number;
  scopes: ReadonlySet<string>;
  /** The key's `meta`, deep-frozen: returned by verify and forwarded by the gateway. */
  meta: Readonly<Record<string, unknown>>;
  /** The SaaS's own id for the key's workspace, when it gave one. */
  workspaceExternalId: string | null;
  /** The whole key's end (PATCHable), or null. */
  keyExpiresAt: Date | null;
  /** The display prefix of the secret version the caller sent (`lk_live_4fQz…`). */
  secretPrefix: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The scope a /api/v1 route needs; `null` for routes any valid key may call (api_keys/current). */
    scope?: string | null;
  }
}

/** The caller of a route of the protected API; the auth hook has run, so it is always there. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route is not behind the API key hook');
  return request.principal;
}
