import type { FastifyInstance, FastifyRequest } from 'fastify';
import { newId } from '../ids.js';
import { argumentHash, queryObject } from './argument-hash.js';
import type { AuditWriter } from './audit-writer.js';
import { redactPayload, redactSecrets } from './redact.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** When an audited request arrived, and its body as the client sent it (before validation). */
    audit: { startedAt: Date; body: unknown } | null;
  }
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
export function auditCapture(app: FastifyInstance, options: { writer: AuditWriter; now: () => Date }): void {
  app.decorateRequest('audit', null);
  // Callback hooks, not async ones: they run on every request, and an async hook costs a Promise and
  // its microtasks each time even when, as here, it has nothing to wait for.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.url.startsWith('/api/')) request.audit = { startedAt: options.now(), body: undefined };
    done();
  });
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.audit) request.audit.body = request.body;
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (request.audit) options.writer.enqueue(eventOf(request, reply.statusCode, reply.errorCode, reply.elapsedTime));
    done();
  });
}

function eventOf(request: FastifyRequest, status: number, errorCode: string | null, elapsedMs: number) {
  const { startedAt, body } = request.audit!;
  const { path, search } = pathAndQuery(request.url);
  const query = queryObject(search);
  const key = request.authAttempt?.key;
  const scope = request.routeOptions.config?.scope ?? null;
  const userAgent = request.headers['user-agent'];
  return {
    id: newId('evt', startedAt.getTime()),
    created_at: startedAt,
    workspace_id: key?.workspaceId ?? null,
    mode: key?.mode ?? null,
    key_id: key?.id ?? null,
    key_name: key?.name ?? null,
    secret_id: key?.secretId ?? null,
    secret_version: key?.secretVersion ?? null,
    method: request.method,
    route: request.routeOptions.url ?? null,
    // Redacted before cut, so that a key across the cut cannot leave a fragment too short to be recognised.
    path: redactSecrets(path).slice(0, 2048),
    status,
    latency_ms: Math.round(elapsedMs * 1000) / 1000,
    source_ip: request.ip,
    user_agent: userAgent === undefined ? null : redactSecrets(userAgent).slice(0, 512),
    request_id: request.id,
    error_code: errorCode,
    scope,
    scope_used: request.authAttempt?.passed ? scope : null,
    argument_hash: argumentHash({ method: request.method, path, query, body: body ?? null }),
    // A call with neither query nor body (most GETs) has nothing to keep.
    payload: search === '' && (body === undefined || body === null) ? null : redactPayload({ query, body: body ?? null }),
    summarized: key === undefined && request.authAttempt?.pastFailureBudget === true,
  };
}
