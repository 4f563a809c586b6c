import { pipeline, type Readable } from 'node:stream';
import replyFrom from '@fastify/reply-from';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { auditCapture } from '../audit/audit-capture.js';
import type { AuditWriter } from '../audit/audit-writer.js';
import { authorizeCall } from '../auth/api-auth-plugin.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config.js';
import { sendError } from '../http/error-handler.js';
import { AppError } from '../http/errors.js';
import { createFastify } from '../http/fastify-instance.js';
import type { Metrics } from '../metrics.js';
import type { ProductFile } from '../product/product.js';
import { redactSecrets } from '../audit/redact.js';
import { BodyMeter, bodyTooLarge, CAPTURED_BODY_BYTES } from './body-meter.js';
import type { PrincipalSigner } from './principal-signer.js';
import { compileRoutes, unsafePath, type GatewayRoute } from './route-table.js';

type GatewayFile = NonNullable<ProductFile['gateway']>;

export interface GatewayDeps {
  gateway: GatewayFile;
  config: Config;
  logger: FastifyBaseLogger;
  /** The same authenticator (cache, rate limits, revocation) as /api/v1 and verify. */
  authenticator: Authenticator;
  signer: PrincipalSigner;
  /** The same audit writer as /api/v1; null only in the benchmark that measures the audit's cost. */
  audit: { writer: AuditWriter; now: () => Date } | null;
  metrics: Metrics;
}

/** Where a route's calls go: the upstream's URL, or its test_url for a test key. */
interface Target {
  name: string;
  live: string;
  /** Without a test_url, `url`: test keys are then told apart by `Latchkey-Mode: test`, which every call carries. */
  test: string;
  timeoutMs: number;
}

/**
 * Request headers never forwarded: hop-by-hop ones (RFC 9110 7.6.1), those the gateway itself sets, and
 * `Expect`: Node has already answered the client's `100-continue` (curl sends it with any body over 1 MiB),
 * and undici refuses to send the header at all, which made every such upload a 502.
 */
const DROPPED_REQUEST_HEADERS = new Set([
  'authorization',
  'expect',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
]);

/** Upstream answer headers not passed on: hop-by-hop ones, and those the gateway answers with itself. */
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'request-id',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
]);

declare module 'fastify' {
  interface FastifyRequest {
    /** The product file's route this gateway call matched. */
    gatewayRoute: GatewayRoute | null;
  }
}

/**
 * The gateway (PRODUCT.md "Gateway mode"): a listener of its own in front of the product's API. Each call
 * goes through the one authenticator (the route's scope checked as /api/v1 checks it), is proxied to its
 * upstream with the key replaced by a signed statement of who called (Latchkey-Principal), bodies streamed
 * both ways, and is one audit event with the upstream's status and share of the latency.
 */
export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const { gateway, config, authenticator, signer, metrics } = deps;
  const bodyLimit = Math.floor(gateway.max_body_mb * 1024 * 1024);
  // A method no route can name (TRACE, PROPFIND, ...) is unmatched like any other call, not another kind of 404.
  const app = createFastify(config, { logger: deps.logger, bodyLimit, notFound: routeNotFound });
  const routes = compileRoutes(gateway.routes);
  const targets = new Map<string, Target>(
    Object.entries(gateway.upstreams).map(([name, upstream]) => [
      name,
      {
        name,
        live: trimSlash(upstream.url),
        test: trimSlash(upstream.test_url ?? upstream.url),
        timeoutMs: upstream.timeout_ms,
      },
    ]),
  );

  app.decorateRequest('principal', null);
  app.decorateRequest('authAttempt', null);
  app.decorateRequest('gatewayRoute', null);
  if (deps.audit) auditCapture(app, { ...deps.audit, everyRequest: true });
  // Bodies are not parsed: whatever the content type, the body is streamed to the upstream as it comes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  // No base: one undici Agent keeps a pool of kept-alive connections per upstream origin.
  await app.register(replyFrom, { disableRequestLogging: true, undici: { keepAliveTimeout: 30_000, connections: 256 } });

  app.addHook('onResponse', (_request, reply, done) => {
    metrics.httpRequests.inc({ surface: 'gateway', status: String(reply.statusCode) });
    metrics.httpDuration.observe({ surface: 'gateway' }, reply.elapsedTime / 1000);
    done();
  });

  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: '/*',
    onRequest(request, reply, done) {
      const path = pathOf(request.url);
      const unsafe = unsafePath(path);
      if (unsafe !== null) {
        done(new AppError('invalid_request', `The URL path is refused: it holds ${unsafe}, which an upstream could read as another path.`, { param: 'path' }));
        return;
      }
      const route = routes.match(request.method, path);
      if (route === null) {
        done(routeNotFound(request));
        return;
      }
      request.gatewayRoute = route;
      if (request.audit) request.audit.proxied = { route: route.path, scope: route.public ? null : route.scope, bodySha256: null, bodyJson: undefined, upstreamMs: null };
      if (route.public) {
        done();
        return;
      }
      authorizeCall(authenticator, request, reply, route.scope, route.path, done);
    },
    handler(request, reply) {
      const route = request.gatewayRoute!;
      const target = targets.get(route.upstream)!;
      const principal = request.principal;
      const test = principal?.mode === 'test';
      const declared = Number(request.headers['content-length'] ?? 0);
      if (declared > bodyLimit) return sendError(reply, bodyTooLarge(bodyLimit));

      const proxied = request.audit?.proxied;
      let meter: BodyMeter | null = null;
      const payload = request.body as Readable | undefined;
      if (payload !== undefined) {
        // The body's hash, and a small JSON body's content, reach the audit event once it has been read.
        meter = new BodyMeter(bodyLimit, proxied !== undefined && isJson(request.headers['content-type']) && declared <= CAPTURED_BODY_BYTES, (read) => {
          if (!proxied) return;
          proxied.bodySha256 = read.sha256;
          proxied.bodyJson = read.capturedJson();
        });
        // A client that goes away mid-upload fails the meter, which aborts the upstream request.
        pipeline(payload, meter, () => {});
        request.body = meter;
      }

      const sentAt = performance.now();
      // The path as matched (undecoded; WHATWG URL rules escape what a request line may not hold, as `>`),
      // and reply-from appends the client's query as sent: given it in the source, it %-decodes the whole
      // text to look for `..`, and a malformed escape in the query made that a 500.
      return reply.from(`${test ? target.test : target.live}${pathOf(request.url)}`, {
        timeout: target.timeoutMs,
        // A gateway never repeats a call on its own: the upstream's answers, 503s included, pass through.
        retryDelay: () => null,
        rewriteRequestHeaders: (_request, headers) => upstreamHeaders(request, headers, principal, target, signer, config.trustProxy !== false),
        rewriteHeaders: (headers) => answerHeaders(headers),
        onResponse: (_request, answer, response) => {
          if (proxied) proxied.upstreamMs = Math.round((performance.now() - sentAt) * 1000) / 1000;
          answer.send(response.stream);
        },
        onError: (_answer, { error }) => {
          if (proxied) proxied.upstreamMs = Math.round((performance.now() - sentAt) * 1000) / 1000;
          sendError(reply, meter?.tooLarge ? bodyTooLarge(bodyLimit) : upstreamError(error, target));
        },
      });
    },
  });

  return app;
}

function pathOf(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? url : url.slice(0, at);
}

function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType);
}

function routeNotFound(request: FastifyRequest): AppError {
  return new AppError('route_not_found', `No route of this API matches ${request.method} ${redactSecrets(pathOf(request.url)).slice(0, 200)}.`);
}

/**
 * What the upstream receives: the client's headers without its credential, without any `Latchkey-*` it
 * sent (only the gateway speaks for Latchkey) and without hop-by-hop ones; then who called, signed and
 * plain, and where the call came from.
 */
function upstreamHeaders(
  request: FastifyRequest,
  incoming: IncomingHttpHeaders,
  principal: Principal | null,
  target: Target,
  signer: PrincipalSigner,
  behindProxy: boolean,
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || DROPPED_REQUEST_HEADERS.has(name) || name.startsWith('latchkey-')) continue;
    headers[name] = value;
  }
  // Behind trusted proxies the chain they wrote is kept; otherwise a client's own X-Forwarded-For is a claim
  // anyone can make, and the upstream is told only the address the gateway saw.
  const forwardedFor = incoming['x-forwarded-for'];
  headers['x-forwarded-for'] = behindProxy && forwardedFor ? `${String(forwardedFor)}, ${request.socket.remoteAddress ?? request.ip}` : request.ip;
  headers['x-forwarded-proto'] = request.protocol;
  if (request.host) headers['x-forwarded-host'] = request.host;
  headers['latchkey-request-id'] = request.id;
  if (principal) {
    headers['latchkey-principal'] = signer.sign(principal, target.name, request.id);
    headers['latchkey-key-id'] = principal.keyId;
    headers['latchkey-workspace-id'] = principal.workspaceId;
    if (principal.workspaceExternalId !== null) headers['latchkey-workspace-external-id'] = headerText(principal.workspaceExternalId);
    headers['latchkey-mode'] = principal.mode;
  }
  return headers;
}

/** A header carries printable ASCII; an external id with anything else is percent-encoded (the JWS has it as is). */
function headerText(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

function answerHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (!DROPPED_RESPONSE_HEADERS.has(name)) kept[name] = headers[name];
  }
  return kept;
}

/** reply-from's errors, said in Latchkey's words: the upstream too slow (504), or not answering HTTP (502). */
function upstreamError(error: Error, target: Target): AppError {
  if ((error as { statusCode?: number }).statusCode === 504) {
    return new AppError('upstream_timeout', `The API behind this gateway (${target.name}) did not answer within ${target.timeoutMs} ms.`);
  }
  return new AppError('upstream_unavailable', `The API behind this gateway (${target.name}) could not be reached or did not answer. Retry later.`, {
    headers: { 'Retry-After': '1' },
  });
}
