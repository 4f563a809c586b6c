import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../auth/principal.js';
import type { KeysService } from '../keys/keys-service.js';
import { DEFAULT_OVERLAP_SECONDS, MAX_OVERLAP_SECONDS } from '../keys/lifecycle.js';
import type { ApiKeyObject } from '../keys/keys-present.js';

/** What a key may learn about itself: enough to check that a swapped-in secret works, nothing of other keys. */
function presentSelf(key: ApiKeyObject, secretId: string) {
  const secret = key.secrets.find((s) => s.id === secretId);
  return {
    id: key.id,
    object: 'api_key' as const,
    name: key.name,
    mode: key.mode,
    prefix: key.prefix,
    scopes: key.scopes,
    rate_limit: key.rate_limit,
    ip_allowlist: key.ip_allowlist,
    created_at: key.created_at,
    calling_secret: secret ? { id: secret.id, version: secret.version, prefix: secret.prefix, expires_at: secret.expires_at } : null,
  };
}

/** `selfRotation`: the rotate route exists only when the deployment's catalog has `keys:rotate_self`. */
export const currentKeyRoutes: FastifyPluginAsyncZod<{ keys: KeysService; selfRotation: boolean }> = async (app, { keys, selfRotation }) => {
  // The cheapest authenticated call: an integration checks its key works, and a benchmark measures the
  // hot path alone against the same answer from /healthz.
  app.get(
    '/api/v1/ping',
    { config: { scope: null }, schema: { summary: 'Check that a key works: answers {"ok": true}', tags: ['API keys'] } },
    async () => ({ ok: true }),
  );

  app.get(
    '/api/v1/api_keys/current',
    { config: { scope: null }, schema: { summary: 'The calling key: name, mode, scopes, limits', tags: ['API keys'] } },
    async (request) => {
      const principal = principalOf(request);
      return presentSelf(await keys.get(principal.workspaceId, principal.keyId), principal.secretId);
    },
  );

  if (!selfRotation) return;
  app.post(
    '/api/v1/api_keys/current/rotate',
    {
      config: { scope: 'keys:rotate_self' },
      schema: {
        summary: 'Rotate the calling key: a new secret, and the overlap starts for the calling one (only the current secret may)',
        tags: ['API keys'],
        body: z.strictObject({ overlap_seconds: z.number().int().min(0).max(MAX_OVERLAP_SECONDS).optional() }).nullish(),
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const overlap = request.body?.overlap_seconds ?? DEFAULT_OVERLAP_SECONDS;
      const rotated = await keys.rotateSelf(principal.workspaceId, principal.keyId, principal.secretId, overlap, {
        actor: null,
        viaKey: principal.keyId,
        sourceIp: request.ip,
        userAgent: request.headers['user-agent'],
        requestId: request.id,
      });
      // The calling secret now shows the end of its overlap; the new one is in `secret`, once.
      return { ...presentSelf(rotated, principal.secretId), secret: rotated.secret, secret_version: rotated.secrets[0]?.version ?? null };
    },
  );
};
