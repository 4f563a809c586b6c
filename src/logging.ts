import type { FastifyRequest } from 'fastify';
import type { LoggerOptions } from 'pino';
import { redactUrl } from './audit/redact.js';

/**
 * Pino options for every logger of ours: JSON lines with request ids, and never a credential —
 * credential headers are not serialized at all and are redacted if anything logs them, and a key pasted
 * into a URL is masked in the logged url.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]', 'res.headers["set-cookie"]'],
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: redactUrl(request.url),
        remoteAddress: request.ip,
      }),
    },
  };
}
