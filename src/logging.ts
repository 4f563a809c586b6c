import type { FastifyRequest } from 'fastify';
import { stdSerializers, type LoggerOptions } from 'pino';
import { redactSecrets, redactUrl } from './audit/redact.js';

/**
 * Pino options for every logger of ours: JSON lines with request ids, and never a credential —
 * credential headers are not serialized at all and are redacted if anything logs them, and a key pasted
 * into a URL, an error's message or a log message is masked (the same rule as the audit log's).
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
      // An error's message may quote what the client sent (a driver echoing a value, a parser its input).
      err: (error: Error) => {
        const serialized = stdSerializers.err(error);
        return { ...serialized, message: redactSecrets(serialized.message), stack: redactSecrets(serialized.stack) };
      },
    },
    hooks: {
      // Messages are mostly constants; one that is built from a request is redacted like everything else.
      // The arguments are pino's own fresh array: changed in place, so a clean line costs no copy.
      logMethod(args, method) {
        const values: unknown[] = args;
        for (let i = 0; i < values.length; i++) {
          const value = values[i];
          if (typeof value === 'string') values[i] = redactSecrets(value);
        }
        method.apply(this, args);
      },
    },
  };
}
