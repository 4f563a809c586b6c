import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { auditAsCall } from '../audit/audit-capture.js';
import type { Authenticated, AuthAttempt, Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import { canonicalIp } from '../http/client-ip.js';
import { AppError, ERRORS, invalidRequest } from '../http/errors.js';
import type { Product } from '../product/product.js';
import { verifyAnswer, verifyBody, type VerifyAnswer, type VerifyBody, type VerifyCode } from './verify-schemas.js';

export const VERIFY_ROUTE = '/v1/keys/verify';

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
        security: [{ serviceKey: [] }],
        body: verifyBody,
        response: { 200: verifyAnswer },
      },
      // The schema documents the answer; the handler builds it exactly, so it is not parsed again on the way out.
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (request) => {
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
      let result: Authenticated | undefined;
      try {
        const outcome = authenticator.authenticateToken(input.key === '' ? null : input.key, clientIp, attempt, input.cost, request.serviceKey?.workspaceIds ?? null);
        result = outcome instanceof Promise ? await outcome : outcome;
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        refusal = error;
      }
      const missing = result ? input.scopes.filter((scope) => !result.principal.scopes.has(scope)) : [];
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
      return answer(request.id, input, code, messageOf(code, refusal, missing), attempt, refusal);
    },
  );
};

function messageOf(code: VerifyCode, refusal: AppError | undefined, missing: readonly string[]): string {
  if (refusal) return refusal.message;
  if (code === 'insufficient_scope') return `This API key does not have the ${missing.join(', ')} scope${missing.length === 1 ? '' : 's'}, which this call needs.`;
  return 'The API key may make this call.';
}

function answer(requestId: string, input: VerifyBody, code: VerifyCode, message: string, attempt: AuthAttempt, refusal: AppError | undefined): VerifyAnswer {
  const principal = attempt.principal;
  const rateLimit = attempt.rateLimit;
  const retryAfter = code === 'rate_limited' ? Number(refusal?.headers['Retry-After'] ?? rateLimit?.retryAfter) : null;
  return {
    valid: code === 'valid',
    code,
    message,
    ...(principal ? recognised(principal, input.scopes) : {}),
    ...(rateLimit ? { rate_limit: { limit: rateLimit.limit, remaining: rateLimit.remaining, reset: rateLimit.resetAt } } : {}),
    retry_after: retryAfter,
    request_id: requestId,
  };
}

/** What the answer tells of a key it recognised (refused or not): never its secret, only the secret's prefix. */
function recognised(principal: Principal, requested: readonly string[]) {
  return {
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
    missing_scopes: requested.filter((scope) => !principal.scopes.has(scope)),
  };
}
