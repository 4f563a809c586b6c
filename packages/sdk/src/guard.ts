import { randomBytes } from 'node:crypto';
import { LatchkeyUnavailableError } from './transport.js';
import type { Verifier, VerifyAnswer, VerifyRequest } from './verify.js';

/** What a route asks of the key: its scopes (all required; none = any valid key) and its cost in rate-limit units. */
export interface GuardOptions {
  scope?: string | readonly string[] | null;
  cost?: number;
}

/** A key Latchkey accepted: its answer, with the key, the workspace and the rate limit. */
export type VerifiedKey = VerifyAnswer & { valid: true };

/** The request as every framework can describe it. */
export interface RequestFacts {
  authorization: string | string[] | undefined;
  /** The client's address as the framework sees it (its trust-proxy settings applied). */
  ip: string | undefined;
  method: string;
  /** The path, with or without a query string (the query is never sent). */
  url: string;
}

export interface ErrorBody {
  error: { type: string; code: string; message: string; request_id: string };
}

export type Decision =
  | { pass: true; headers: Record<string, string>; latchkey: VerifiedKey }
  | { pass: false; status: number; headers: Record<string, string>; body: ErrorBody };

/** Latchkey's error registry, for the codes a call's refusal can carry (src/http/errors.ts on the server). */
const REFUSALS: Record<string, { status: number; type: string }> = {
  missing_api_key: { status: 401, type: 'authentication_error' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  api_key_revoked: { status: 401, type: 'authentication_error' },
  api_key_expired: { status: 401, type: 'authentication_error' },
  ip_not_allowed: { status: 403, type: 'permission_error' },
  insufficient_scope: { status: 403, type: 'permission_error' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  internal_error: { status: 500, type: 'api_error' },
  service_unavailable: { status: 503, type: 'api_error' },
};

/** A code this SDK does not know yet (a newer server): refused as an authentication failure, never passed. */
const UNKNOWN_REFUSAL = { status: 401, type: 'authentication_error' };

const REALM = 'Bearer realm="latchkey"';
/** Seconds a client should wait before retrying when Latchkey cannot be asked. */
export const UNAVAILABLE_RETRY_AFTER = 2;
/** Longer paths are cut: the path is for the audit log, and the verify body has a bound. */
const MAX_PATH = 1000;
/** Verify takes keys up to this length; a longer token is no key of ours either way, and is refused as such. */
const MAX_KEY = 512;

/** The token of `Authorization: Bearer <token>` (RFC 6750), as Latchkey reads it; null when there is none. */
export function bearerToken(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  return /^Bearer +([^\s]+) *$/i.exec(value)?.[1] ?? null;
}

/** RFC 6750 quoted-string: the message is ours, but a quote or backslash would end the header's value early. */
function quoted(text: string): string {
  return text.replace(/["\\]/g, "'");
}

function rateLimitHeaders(answer: Pick<VerifyAnswer, 'rate_limit'>): Record<string, string> {
  const limit = answer.rate_limit;
  if (!limit) return {};
  return { 'X-RateLimit-Limit': String(limit.limit), 'X-RateLimit-Remaining': String(limit.remaining), 'X-RateLimit-Reset': String(limit.reset) };
}

export function refusal(code: string, message: string, requestId: string, headers: Record<string, string> = {}): Decision {
  const { status, type } = REFUSALS[code] ?? UNKNOWN_REFUSAL;
  return { pass: false, status, headers: { ...headers, 'Request-Id': requestId }, body: { error: { type, code, message, request_id: requestId } } };
}

/**
 * Latchkey's answer → what the API answers, exactly as Latchkey's own /api/v1 would: the status from the
 * code, WWW-Authenticate on 401 and on a missing scope, X-RateLimit-* once the key was counted, Retry-After
 * on 429, Request-Id (Latchkey's, so the caller's quote finds the audit event). Pure: the adapters only apply it.
 */
export function decide(answer: VerifyAnswer, scopes: readonly string[]): Decision {
  const limits = rateLimitHeaders(answer);
  if (answer.valid && answer.code === 'valid') return { pass: true, headers: limits, latchkey: answer as VerifiedKey };
  const headers: Record<string, string> = { ...limits };
  const code = answer.code === 'valid' ? 'invalid_api_key' : answer.code;
  const { status } = REFUSALS[code] ?? UNKNOWN_REFUSAL;
  if (code === 'insufficient_scope') {
    const missing = answer.missing_scopes && answer.missing_scopes.length > 0 ? answer.missing_scopes : scopes;
    headers['WWW-Authenticate'] = `${REALM}, error="insufficient_scope", scope="${quoted(missing.join(' '))}"`;
  } else if (code === 'missing_api_key') {
    // RFC 6750 §3: no error attribute when the request carried no credentials at all.
    headers['WWW-Authenticate'] = REALM;
  } else if (status === 401) {
    headers['WWW-Authenticate'] = `${REALM}, error="invalid_token", error_description="${quoted(answer.message)}"`;
  }
  if (code === 'rate_limited') headers['Retry-After'] = String(answer.retry_after ?? 1);
  return refusal(code, answer.message, answer.request_id, headers);
}

/** Latchkey could not be asked: the call is refused (fail closed), never passed. */
export function unavailable(requestId = localRequestId()): Decision {
  return refusal('service_unavailable', 'The API cannot check API keys right now. Retry in a few seconds.', requestId, {
    'Retry-After': String(UNAVAILABLE_RETRY_AFTER),
  });
}

/** A request id for an answer Latchkey was not asked for (no key sent, Latchkey away), in Latchkey's shape. */
function localRequestId(): string {
  return `req_${randomBytes(12).toString('hex')}`;
}

function scopeList(scope: GuardOptions['scope']): string[] {
  const list = scope === undefined || scope === null ? [] : typeof scope === 'string' ? [scope] : [...scope];
  for (const s of list) if (typeof s !== 'string' || s.length === 0) throw new TypeError('latchkey: every scope must be a non-empty string');
  return list;
}

/** `::ffff:203.0.113.7` (an IPv4 client on a dual-stack socket) is 203.0.113.7, as Latchkey writes it. */
function plainIp(ip: string | undefined): string | undefined {
  return ip?.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** Methods verify records (an extension method such as M-SEARCH is left out rather than refused). */
const METHOD = /^[A-Za-z]{1,16}$/;

/**
 * The path for the audit log: no query (it may hold what the log should not), always starting with `/`
 * (a request in absolute form, `GET http://host/p`, gives its path), bounded.
 */
function auditPath(url: string): string {
  let path = url.split('?')[0] ?? '/';
  if (!path.startsWith('/')) {
    try {
      path = new URL(path).pathname;
    } catch {
      path = '/';
    }
  }
  return path.slice(0, MAX_PATH);
}

export type Guard = (request: RequestFacts) => Promise<Decision>;

/**
 * The one core the three adapters share: request facts in, a decision out. Every request is asked about,
 * with or without a key; anything that keeps Latchkey from answering is a 503.
 */
export function createGuard(verifier: Pick<Verifier, 'verify'>, options: GuardOptions, onError: (error: Error) => void): Guard {
  const scopes = scopeList(options.scope);
  const cost = options.cost ?? 1;
  if (!Number.isInteger(cost) || cost < 1) throw new TypeError('latchkey: cost must be an integer of at least 1');

  return async function guard(request) {
    // No key is asked about too (as ""): Latchkey answers missing_api_key, counts it against the client's
    // failure budget and writes its audit event, as /api/v1 does for a call without a key.
    const key = (bearerToken(request.authorization) ?? '').slice(0, MAX_KEY);
    const path = auditPath(request.url);
    const ip = plainIp(request.ip);
    if (!ip) {
      // Latchkey needs the address (allowlists, the failure budget): without it, refuse rather than guess.
      onError(new Error("latchkey: the client's IP address is unknown (Hono outside @hono/node-server: pass clientIp)"));
      return refusal('internal_error', 'The API could not check the API key. Quote the request id if you contact support.', localRequestId());
    }
    const method = METHOD.test(request.method) ? request.method.toUpperCase() : undefined;
    const body: VerifyRequest = { key, scopes, client_ip: ip, path, ...(method ? { method } : {}), ...(cost === 1 ? {} : { cost }) };
    try {
      return decide(await verifier.verify(body), scopes);
    } catch (error) {
      onError(error as Error);
      if (error instanceof LatchkeyUnavailableError) return unavailable();
      // Latchkey refused our own call (service key revoked, permission missing, a scope it does not know):
      // a setup mistake on this side, said as one; still never a pass.
      return refusal('internal_error', 'The API could not check the API key. Quote the request id if you contact support.', localRequestId());
    }
  };
}
