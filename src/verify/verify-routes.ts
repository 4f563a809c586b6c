import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { auditAsCall } from '../audit/audit-capture.js';
import type { AuthAttempt, Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import { canonicalIp } from '../http/client-ip.js';
import { AppError, ERRORS, invalidRequest } from '../http/errors.js';
import type { Product } from '../product/product.js';
import { verifyAnswer, verifyBody, type VerifyAnswer, type VerifyCode } from './verify-schemas.js';

export const VERIFY_ROUTE = '/v1/keys/verify';
const NONE: readonly string[] = Object.freeze([]);

export interface VerifyOptions {
  authenticator: Pick<Authenticator, 'authenticateToken'>;
  product: Pick<Product, 'isScope'>;
  now: () => Date;
}

/**
 * POST /v1/keys/verify: a SaaS backend asks whether its client's key may make a call. The door is its own
 * (the key and client IP come in the body, a refusal is a 200 with `valid: false`), the decision is not:
 * the same authenticator as /api/v1 (cache, revocation, expiry, allowlist, rate limit, failure budget,
 * "last used"), then every requested scope. One audit event per call, recorded as the call it checked.
 */
export const verifyRoutes: FastifyPluginAsyncZod<VerifyOptions> = async (app, { authenticator, product, now }) => {
  app.decorateRequest('authAttempt', null);

  app.post(
    VERIFY_ROUTE,
    {
      config: { permission: 'keys:verify', serviceKeyOnly: true },
      schema: {
        summary: 'Verify an API key for a call of your own API',
        description:
          'With a service key holding `keys:verify`. Answers 200 for every well-formed request: `valid` and `code` say whether the call may proceed, ' +
          'decided as /api/v1 decides (same checks, order, cache, rate limits and audit log).',
        body: verifyBody,
        response: { 200: verifyAnswer },
      },
    },
    async function verifyHandler(request, reply) {
      const startedAt = now();
      const input = request.body;
      const clientIp = canonicalIp(input.client_ip);
      if (clientIp === null) throw invalidRequest('client_ip', 'client_ip must be an IPv4 or IPv6 address.');
      input.scopes.forEach((scope, index) => {
        if (!product.isScope(scope)) throw invalidRequest(`scopes.${index}`, `Unknown scope: ${scope.slice(0, 64)}. Ask only for scopes of the catalog (GET /v1/scopes).`);
      });

      const attempt: AuthAttempt = {};
      request.authAttempt = attempt;
      let refusal: AppError | undefined;
      try {
        const outcome = authenticator.authenticateToken(input.key === '' ? null : input.key, clientIp, attempt, input.cost, request.serviceKey?.workspaceIds ?? null);
        // A cached key with the in-process store answers without a Promise: no await, no microtask.
        if (outcome instanceof Promise) await outcome;
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        refusal = error;
      }
      // Set whenever the key was recognised, refused or not: the answer then tells what it lacks too.
      const principal = attempt.principal;
      const missing = principal ? input.scopes.filter((scope) => !principal.scopes.has(scope)) : NONE;
      const code: VerifyCode = refusal ? (refusal.code as VerifyCode) : missing.length > 0 ? 'insufficient_scope' : 'valid';
      if (code === 'valid') attempt.passed = true;

      auditAsCall(request, startedAt, {
        method: input.method?.toUpperCase() ?? request.method,
        path: input.path ?? VERIFY_ROUTE,
        sourceIp: clientIp,
        status: code === 'valid' ? 200 : ERRORS[code].status,
        errorCode: code === 'valid' ? null : code,
        route: VERIFY_ROUTE,
        scope: input.scopes.length === 0 ? null : input.scopes.join(' '),
      });
      const json = answerJson(request.id, code, messageOf(code, refusal, missing), missing, attempt, refusal);
      // Already JSON text (in the documented shape): Fastify sends a string with a JSON content type as it is.
      return reply.type('application/json; charset=utf-8').send(json as unknown as VerifyAnswer);
    },
  );
};

function messageOf(code: VerifyCode, refusal: AppError | undefined, missing: readonly string[]): string {
  if (refusal) return refusal.message;
  if (code === 'insufficient_scope') return `This API key does not have the ${missing.join(', ')} scope${missing.length === 1 ? '' : 's'}, which this call needs.`;
  return 'The API key may make this call.';
}

/**
 * The answer as JSON text (VerifyAnswer's shape, field for field). Written by hand because it is the hot
 * path of every SaaS that uses verify: what a cached key says of itself (key, workspace, scopes) is the
 * same on every call, so it is serialised once per cached principal and reused; the rest is a few
 * numbers, an id of ours and a code from a fixed list. Measured: JSON.stringify of the whole object was
 * the largest cost of the handler (bench/results/verify.md).
 */
function answerJson(requestId: string, code: VerifyCode, message: string, missing: readonly string[], attempt: AuthAttempt, refusal: AppError | undefined): string {
  const { principal, rateLimit } = attempt;
  const retryAfter = code === 'rate_limited' ? Number(refusal?.headers['Retry-After'] ?? rateLimit?.retryAfter) : null;
  const key = principal ? `,${recognisedJson(principal)},"missing_scopes":${JSON.stringify(missing)}` : '';
  const limit = rateLimit ? `,"rate_limit":{"limit":${rateLimit.limit},"remaining":${rateLimit.remaining},"reset":${rateLimit.resetAt}}` : '';
  const text = code === 'valid' ? VALID_MESSAGE_JSON : JSON.stringify(message);
  return `{"valid":${code === 'valid'},"code":"${code}","message":${text}${key}${limit},"retry_after":${retryAfter},"request_id":${JSON.stringify(requestId)}}`;
}

const VALID_MESSAGE_JSON = JSON.stringify(messageOf('valid', undefined, []));

/** A principal is frozen and lives as long as its cache entry: its part of the answer is made once. */
const recognisedParts = new WeakMap<Principal, string>();

/** What the answer tells of a key it recognised (refused or not): never its secret, only the secret's prefix. */
function recognisedJson(principal: Principal): string {
  let json = recognisedParts.get(principal);
  if (json === undefined) {
    const part: Pick<VerifyAnswer, 'key' | 'workspace' | 'scopes'> = {
      key: {
        id: principal.keyId,
        name: principal.keyName,
        mode: principal.mode,
        prefix: principal.secretPrefix,
        meta: principal.meta,
        expires_at: principal.keyExpiresAt?.toISOString() ?? null,
        secret_version: principal.secretVersion,
      },
      workspace: { id: principal.workspaceId, external_id: principal.workspaceExternalId },
      scopes: [...principal.scopes],
    };
    json = JSON.stringify(part).slice(1, -1);
    recognisedParts.set(principal, json);
  }
  return json;
}
