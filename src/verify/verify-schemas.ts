import { z } from 'zod';
import { text } from '../http/schemas.js';

/** Beyond this a cost is a mistake: no key's window is that large in practice, and it bounds the counters. */
export const MAX_COST = 1_000_000;

/** POST /v1/keys/verify's body (PRODUCT.md "Verify: any backend, any language"). */
export const verifyBody = z.strictObject({
  key: z.string().max(512).describe('The API key the SaaS\'s client sent (the token, without "Bearer"). Empty: the client sent none (missing_api_key).'),
  scopes: z.array(z.string().min(1).max(64)).max(100).default([]).describe('Every scope the call needs; all are required. Each must be in the product\'s catalog.'),
  client_ip: z.string().min(1).max(64).describe("The client's address, in place of the source IP: the key's IP allowlist and the failure budget of made-up keys apply to it."),
  method: z
    .string()
    .regex(/^[A-Za-z]{1,16}$/, 'must be an HTTP method such as GET')
    .optional()
    .describe('The method of the call being checked, for the audit log (default: POST, the verify call itself)'),
  // Text (no control characters): it is written to the audit log, where a NUL would lose the event.
  path: z
    .string()
    .min(1)
    .max(2048)
    .regex(/^\//, 'must start with /')
    .pipe(text(2048))
    .optional()
    .describe('The path (and query) of the call being checked, for the audit log (default: /v1/keys/verify)'),
  cost: z.number().int().min(1).max(MAX_COST).default(1).describe("Units of the key's rate limit the call takes"),
});

export type VerifyBody = z.infer<typeof verifyBody>;

export const VERIFY_CODES = [
  'valid',
  'missing_api_key',
  'invalid_api_key',
  'api_key_revoked',
  'api_key_expired',
  'ip_not_allowed',
  'rate_limited',
  'insufficient_scope',
] as const;

export type VerifyCode = (typeof VERIFY_CODES)[number];

/** The answer, 200 for every well-formed request; documented in /openapi.json from this schema. */
export const verifyAnswer = z.object({
  valid: z.boolean(),
  code: z.enum(VERIFY_CODES).describe('`valid`, or the refusal /api/v1 would answer, decided by the same checks in the same order'),
  message: z.string(),
  key: z
    .object({
      id: z.string(),
      name: z.string(),
      mode: z.enum(['live', 'test']),
      prefix: z.string().describe('The display prefix of the secret sent, e.g. acme_live_4fQz…'),
      meta: z.record(z.string(), z.unknown()),
      expires_at: z.string().nullable(),
      secret_version: z.number().int(),
    })
    .optional()
    .describe('Present whenever the key was recognised (revoked and expired keys included)'),
  workspace: z.object({ id: z.string(), external_id: z.string().nullable() }).optional(),
  scopes: z.array(z.string()).optional().describe("The key's scopes, when the key was recognised"),
  missing_scopes: z.array(z.string()).optional().describe('The requested scopes the key lacks, when the key was recognised'),
  rate_limit: z
    .object({ limit: z.number().int(), remaining: z.number().int(), reset: z.number().int() })
    .optional()
    .describe("The key's rate limit after this call, when the call was counted against it"),
  retry_after: z.number().int().nullable().describe('Seconds to wait, when rate limited'),
  request_id: z.string(),
});

export type VerifyAnswer = z.infer<typeof verifyAnswer>;
