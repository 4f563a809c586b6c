import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { noRoute } from './http/error-handler.js';

/** `dist/console`, seen from src/ (tests, tsx) and from dist/ (the build) alike. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../dist/console', import.meta.url));

/** Paths the console never answers for: an unknown one there is the API's 404, not the app's page. */
const NOT_CONSOLE = ['/v1', '/api', '/docs', '/openapi.json', '/metrics', '/healthz', '/readyz'];

/** Self only: no inline scripts or styles; framing as `frameAncestors` says. */
function csp(frameAncestors: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

/** The console is never framed (as X-Frame-Options: DENY said). */
const CONSOLE_CSP = csp("'none'");

/** Embedded key management (`/embed…`) lives in the SaaS's own pages: framed by its allowed origins only. */
function isEmbedPath(url: string): boolean {
  return url === '/embed' || url.startsWith('/embed/') || url.startsWith('/embed?') || url.startsWith('/embed#');
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Latchkey</title></head>
<body><h1>Latchkey</h1><p>The console is not built. Run <code>npm run build</code>, then restart the server.</p></body></html>
`;

function isConsolePath(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  return !NOT_CONSOLE.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/**
 * The built console (a single-page app) at `/`: its files, and index.html for any other GET a browser may
 * open directly (/keys/key_…), so that a reload or a shared link lands on the right page.
 */
export async function consoleStatic(app: FastifyInstance, options: { root?: string; embedOrigins?: readonly string[] } = {}): Promise<void> {
  const root = options.root ?? DEFAULT_CONSOLE_DIR;
  const embedOrigins = options.embedOrigins ?? [];
  const embedCsp = csp(["'self'", ...embedOrigins].join(' '));
  const indexPath = `${root}/index.html`;
  // Read once: the build does not change under a running server.
  const index = existsSync(indexPath) ? readFileSync(indexPath) : undefined;
  const built = index !== undefined;
  await app.register(async (scope) => {
    scope.addHook('onSend', async (request, reply) => {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      if (isEmbedPath(request.url)) {
        // X-Frame-Options cannot name origins, and browsers that know frame-ancestors ignore it anyway.
        reply.header('content-security-policy', embedCsp);
      } else {
        reply.header('content-security-policy', CONSOLE_CSP);
        reply.header('x-frame-options', 'DENY');
      }
      // Vite names assets by content hash; everything else (index.html) must be revalidated.
      reply.header('cache-control', request.url.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    });
    if (built) {
      // One route per built file, read at start: the wildcard below stays free for the app's own paths.
      await scope.register(fastifyStatic, { root, wildcard: false, index: false, decorateReply: false, cacheControl: false });
    }
    const page = (reply: FastifyReply) =>
      reply.type('text/html; charset=utf-8').send(index ?? NOT_BUILT);
    scope.get('/', async (_request, reply) => page(reply));
    scope.get('/*', async (request, reply) => {
      if (!isConsolePath(request.url)) throw noRoute(request);
      return page(reply);
    });
  });
}
