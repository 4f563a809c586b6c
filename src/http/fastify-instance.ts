import type { Socket } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Config } from '../config.js';
import { newId } from '../ids.js';
import { loggerOptions } from '../logging.js';
import { canonicalIp } from './client-ip.js';
import { installErrorHandling, sendError } from './error-handler.js';
import { AppError, errorBody } from './errors.js';

/**
 * A Fastify instance as every listener of Latchkey has it (the main one, the gateway's): request ids of
 * ours sent back as `Request-Id`, the client's address decided once (canonical text, trusted proxies
 * only), our error shape for every refusal, including the router's own.
 */
export function createFastify(
  config: Config,
  options: { logger?: FastifyBaseLogger | undefined; bodyLimit: number; notFound?: (request: FastifyRequest) => AppError },
): FastifyInstance {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: loggerOptions(config.logLevel) }),
    trustProxy: trustProxyOption(config.trustProxy),
    genReqId: () => newId('req'),
    requestIdHeader: false,
    // During shutdown, finish serving (and auditing) requests that arrive, rather than a bare 503.
    return503OnClosing: false,
    bodyLimit: options.bodyLimit,
    frameworkErrors: routerError,
    clientErrorHandler,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app, options.notFound);
  // Hooks that run on every request are callbacks, not async functions: an async hook costs a Promise and
  // its microtasks on every request even when it has nothing to wait for.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('request-id', request.id);
    // The client's address, decided once for every consumer (rate-limit buckets, allowlists, the audit
    // and management logs): one text per address (client-ip.ts). An IPv4 address is already canonical and
    // costs one check; another spelling replaces request.ip on this request.
    const ip = request.ip;
    const canonical = canonicalIp(ip);
    if (canonical === ip) return done();
    if (canonical === null) {
      // Behind a trusted proxy, request.ip is read from X-Forwarded-For, which a client can fill with any text.
      if (config.trustProxy) return done(new AppError('invalid_request', 'X-Forwarded-For must hold IP addresses.', { param: 'X-Forwarded-For' }));
      return done();
    }
    Object.defineProperty(request, 'ip', { value: canonical, enumerable: true });
    done();
  });
  return app;
}

/**
 * The router's own refusals (a malformed %-escape in the path, a path parameter over 100 characters),
 * answered in our error shape rather than Fastify's; they come before any hook, so Request-Id is set here.
 */
function routerError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('Request-Id', request.id);
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A segment of the URL path is too long.' : 'The URL path is not valid: it has a malformed %-escape.';
  sendError(reply, new AppError('invalid_request', message, { param: 'path' }));
}

/**
 * What Node's parser refuses before there is a request (a head over 16 KiB: a 64 KB query, a 10 MB
 * header; bytes that are not HTTP), answered in our error shape, with an id of its own, then the socket
 * closed: Fastify's default answers in a shape of its own.
 */
function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  // A connection reset has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const refusal =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError('request_header_too_large', 'The request line and headers are larger than 16 KiB: send long data in the body, not in the URL or a header.')
      : new AppError('invalid_request', 'The request is not valid HTTP.');
  // Node's own rule: never write into an answer already under way on this connection (a pipelined request
  // after it is what failed), or the client reads the two mixed.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const requestId = newId('req');
  const body = JSON.stringify(errorBody(refusal, requestId));
  socket.write(
    `HTTP/1.1 ${refusal.status} ${refusal.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRequest-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
  lingeringClose(socket);
}

/**
 * Closes after an answer while the client may still be sending (the rest of a 10 MB header): closing a
 * socket with unread bytes makes the kernel send a reset, which can reach the client before it has read
 * the answer, and the answer is lost. So: stop parsing, drain and discard what still arrives, send our
 * FIN, and destroy once the client has closed too, or after LINGER_MS at most.
 */
function lingeringClose(socket: Socket): void {
  socket.removeAllListeners('data');
  socket.on('data', () => {});
  socket.resume();
  socket.end();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

const LINGER_MS = 2000;

/** A hop count trusts that many proxies in front of us (the same rule proxy-addr applies to a number). */
function trustProxyOption(trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return trust;
}
