import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { newId } from '../ids.js';
import { argumentHash, queryObject } from './argument-hash.js';
import type { AuditWriter } from './audit-writer.js';
import { redactPayload, redactSecrets } from './redact.js';

/**
 * A call of a key that reached us another way than /api (verify answers for a SaaS's own API): the event
 * is recorded as that call, not as the request that carried it.
 */
export interface AuditedCall {
  method: string;
  /** The call's path, with its query if any. */
  path: string;
  sourceIp: string;
  /** What /api/v1 would have answered, and its error code. */
  status: number;
  errorCode: string | null;
  /** Tells these events apart in the log (e.g. `/v1/keys/verify`). */
  route: string;
  /** The scopes the call needed, space-separated as in OAuth, or null. */
  scope: string | null;
}

/**
 * A call the gateway proxied: its route is the product file's, and its body was streamed to the upstream
 * rather than parsed, so what the log keeps of it is its hash and, for a small JSON body, its content.
 */
export interface ProxiedCall {
  /** The product file's path template (`/v1/contacts/{id}`). */
  route: string;
  scope: string | null;
  /** Hex SHA-256 of the body's bytes, null without a body (or one not read to its end). */
  bodySha256: string | null;
  /** A JSON body of at most 16 KiB, parsed; undefined otherwise. */
  bodyJson: unknown;
  /** From sending the request to the upstream's answer (its headers), ms; null if it never answered. */
  upstreamMs: number | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * When an audited request arrived, and its body as the client sent it (before validation); `call`
     * when the request stands for a call made elsewhere (see auditAsCall); `proxied` for the gateway's.
     */
    audit: { startedAt: Date; body: unknown; call?: AuditedCall; proxied?: ProxiedCall } | null;
  }
}

/**
 * Marks a request that is not under /api as one audited call of a key (the key comes from
 * `request.authAttempt`, as for /api): the same hook writes it, once, when the response has gone.
 */
export function auditAsCall(request: FastifyRequest, startedAt: Date, call: AuditedCall): void {
  request.audit = { startedAt, body: null, call };
}

function pathAndQuery(url: string): { path: string; search: string } {
  const at = url.indexOf('?');
  return at < 0 ? { path: url, search: '' } : { path: url.slice(0, at), search: url.slice(at + 1) };
}

/**
 * One audit event per /api request, answered or refused (401, 403, 429, 404, 5xx): hooks at the root,
 * so they see requests that never reach a route too. The event is queued after the response is sent;
 * the request never waits for the audit log.
 */
export function auditCapture(app: FastifyInstance, options: { writer: AuditWriter; now: () => Date; everyRequest?: boolean }): void {
  app.decorateRequest('audit', null);
  const audited = options.everyRequest === true ? () => true : (url: string) => url.startsWith('/api/');
  // Callback hooks, not async ones: they run on every request, and an async hook costs a Promise and
  // its microtasks each time even when, as here, it has nothing to wait for.
  app.addHook('onRequest', (request, reply, done) => {
    if (audited(request.url)) {
      request.audit = { startedAt: options.now(), body: undefined };
      if (options.everyRequest === true) reply.raw.once('close', () => auditIfGone(request, reply));
    }
    done();
  });
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.audit) request.audit.body = request.body;
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (request.audit) options.writer.enqueue(eventOf(request, reply.statusCode, reply.errorCode, reply.elapsedTime));
    // Written once: the gateway's 'close' listener below finds nothing left to write.
    request.audit = null;
    done();
  });

  /**
   * A client that goes away before its answer has been sent whole (mid-upload, mid-download: the gateway's
   * long calls) leaves no 'finish', so onResponse never runs; the call is still one event, with 499 (the
   * status proxies give a call the client closed), whatever the answer had begun as.
   */
  function auditIfGone(request: FastifyRequest, reply: FastifyReply): void {
    if (request.audit === null || reply.raw.writableFinished) return;
    options.writer.enqueue(eventOf(request, CLIENT_CLOSED_REQUEST, null, reply.elapsedTime));
    request.audit = null;
  }
}

const CLIENT_CLOSED_REQUEST = 499;

function eventOf(request: FastifyRequest, status: number, errorCode: string | null, elapsedMs: number) {
  const { startedAt, call, proxied } = request.audit!;
  // A proxied body is known by its bytes' hash; its content only when it was small JSON.
  const body = proxied ? proxied.bodyJson : request.audit!.body;
  const hashedBody = proxied ? proxied.bodySha256 : body;
  const method = call?.method ?? request.method;
  const { path, search } = pathAndQuery(call?.path ?? request.url);
  const query = queryObject(search);
  const key = request.authAttempt?.key;
  const scope = call ? call.scope : proxied ? proxied.scope : (request.routeOptions.config?.scope ?? null);
  // A call made elsewhere came from a client whose user agent we never saw; the carrier's is not it.
  const userAgent = call ? undefined : request.headers['user-agent'];
  return {
    id: newId('evt', startedAt.getTime()),
    created_at: startedAt,
    workspace_id: key?.workspaceId ?? null,
    mode: key?.mode ?? null,
    key_id: key?.id ?? null,
    key_name: key?.name ?? null,
    secret_id: key?.secretId ?? null,
    secret_version: key?.secretVersion ?? null,
    method,
    route: call?.route ?? proxied?.route ?? request.routeOptions.url ?? null,
    // Redacted before cut, so that a key across the cut cannot leave a fragment too short to be recognised.
    path: redactSecrets(path).slice(0, 2048),
    status: call?.status ?? status,
    latency_ms: Math.round(elapsedMs * 1000) / 1000,
    source_ip: call?.sourceIp ?? request.ip,
    user_agent: userAgent === undefined ? null : redactSecrets(userAgent).slice(0, 512),
    request_id: request.id,
    error_code: call ? call.errorCode : errorCode,
    scope,
    scope_used: request.authAttempt?.passed ? scope : null,
    argument_hash: argumentHash({ method, path, query, body: hashedBody ?? null }),
    // A call with neither query nor body (most GETs) has nothing to keep.
    payload: search === '' && (body === undefined || body === null) ? null : redactPayload({ query, body: body ?? null }),
    upstream_ms: proxied?.upstreamMs ?? null,
    summarized: key === undefined && request.authAttempt?.pastFailureBudget === true,
  };
}
