import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { redactSecrets } from '../audit/redact.js';
import { AppError, errorBody, type ErrorCode } from './errors.js';

declare module 'fastify' {
  interface FastifyReply {
    /** The error code this reply answered with, if any: for the audit log. */
    errorCode: ErrorCode | null;
  }
}
import { validationError } from './validation.js';

/** Fastify's own client errors, said in our words (its messages are not written for our users). */
const FASTIFY_CLIENT_ERRORS: Record<string, () => AppError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new AppError('payload_too_large', 'The request body is larger than this route accepts.'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new AppError('invalid_request', 'The request body is not valid JSON.', { param: 'body' }),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new AppError('invalid_request', 'The request body is empty but its content type is JSON.', { param: 'body' }),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new AppError('unsupported_media_type', 'Send the request body as JSON (Content-Type: application/json).'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new AppError('invalid_request', 'The Content-Length header does not match the body.'),
};

/** Errors that mean the database is away (refused, restarting, connection lost), not that the request was wrong. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006']);

function databaseUnavailable(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  return typeof message === 'string' && /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message);
}

export function toAppError(error: unknown): AppError | undefined {
  if (error instanceof AppError) return error;
  if (databaseUnavailable(error)) {
    return new AppError('service_unavailable', 'The service cannot reach its database right now. Retry in a few seconds.', {
      headers: { 'Retry-After': '2' },
    });
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    return validationError(error.validation, (error as { validationContext?: string }).validationContext);
  }
  const fastifyError = error as Partial<FastifyError>;
  const known = fastifyError.code ? FASTIFY_CLIENT_ERRORS[fastifyError.code] : undefined;
  if (known) return known();
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return new AppError('invalid_request', 'The request body is not valid JSON.', { param: 'body' });
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new AppError('invalid_request', 'The request could not be read.');
  }
  return undefined;
}

export function sendError(reply: FastifyReply, error: AppError): FastifyReply {
  reply.errorCode = error.code;
  return reply.code(error.status).headers(error.headers).send(errorBody(error, reply.request.id));
}

/**
 * Our error handler: known errors answer with their code; anything else is logged and answers internal_error.
 * `notFound` says what a request no route has is told (the gateway's own words: route_not_found).
 */
export function installErrorHandling(app: FastifyInstance, notFound: (request: FastifyRequest) => AppError = noRoute): void {
  app.decorateReply('errorCode', null);
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const known = toAppError(error);
    if (known?.code === 'payload_too_large') {
      const kib = Math.floor((request.routeOptions.bodyLimit ?? 0) / 1024);
      return sendError(reply, new AppError('payload_too_large', `The request body is larger than this route's limit of ${kib} KiB.`));
    }
    if (known) return sendError(reply, known);
    request.log.error({ err: error }, 'unhandled error');
    return sendError(
      reply,
      new AppError('internal_error', 'Something went wrong on our side. Quote the request id if you contact support.'),
    );
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, notFound(request)));
}

/** Names the path, with any key in it masked: an answer is logged by proxies and clients too. */
export function noRoute(request: FastifyRequest): AppError {
  return new AppError('not_found', `No route for ${request.method} ${redactSecrets(request.url.split('?')[0] ?? '')}.`);
}
