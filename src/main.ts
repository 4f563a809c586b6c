import { ConfigError } from './config.js';
import { exitOnStartFailure, serve } from './server.js';

/**
 * Start failures that are the environment's, not a bug: the port taken or not ours to bind, the host
 * unknown. Like a wrong variable, they are said in one line, without a stack.
 */
const ENVIRONMENT_CODES = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES', 'EPERM', 'ENOTFOUND']);

serve().catch((error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof ConfigError || (error instanceof Error && typeof code === 'string' && ENVIRONMENT_CODES.has(code))) {
    process.stderr.write(`Latchkey could not start: ${error.message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exit(1);
  }
  exitOnStartFailure(error);
});
