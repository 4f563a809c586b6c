import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { Product } from '../product/product.js';

/**
 * The public API's OpenAPI 3.1 document, generated from the same Zod schemas that validate requests,
 * at /openapi.json, and a readable reference at /docs. Each operation names the scope it needs
 * (`security` and `x-required-scope`); the deployment's scope catalog is listed in the description and,
 * for tools, in `x-scopes`. Registered before the routes, so it sees each as it is added.
 */
export async function registerOpenApi(app: FastifyInstance, keyPrefix: string, product: Product): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: `${product.name} API`,
        version: '1',
        description:
          `Call with \`Authorization: Bearer ${keyPrefix}_live_…\` (or a \`${keyPrefix}_test_…\` key for the test view). ` +
          'Every response carries X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset; a 429 carries Retry-After. ' +
          'Errors are {"error": {"type", "code", "message", "request_id"}}.\n\n' +
          scopeTable(product),
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: `A ${product.name} API key` }, ...MANAGEMENT_SECURITY },
      },
      'x-scopes': product.scopes.map(({ scope, group, description }) => ({ scope, group, description })),
    } as Record<string, unknown>,
    transform: (document) => {
      if (document.url.startsWith('/v1/')) return managementOperation(document);
      if (!document.url.startsWith('/api/v1')) return { schema: { hide: true } as FastifySchema, url: document.url };
      const scope = (document.route.config as { scope?: string | null } | undefined)?.scope ?? null;
      const transformed = jsonSchemaTransform(document);
      const needs = scope ? `Needs the \`${scope}\` scope.` : 'Any valid key may call it.';
      return {
        url: transformed.url,
        schema: {
          ...transformed.schema,
          description: needs,
          security: [{ bearerAuth: scope ? [scope] : [] }],
          'x-required-scope': scope,
        } as FastifySchema,
      };
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // Its own context, so that the headers below reach every response under /docs (the page, its
  // scripts and styles, the static files) and no other route.
  await app.register(async (docs) => {
    docs.addHook('onRequest', (_request, reply, done) => {
      reply.headers(DOCS_HEADERS);
      done();
    });
    await docs.register(swaggerUi, {
      routePrefix: '/docs',
      // No validator badge: it would send the document to validator.swagger.io, which the CSP refuses.
      uiConfig: { docExpansion: 'list', defaultModelsExpandDepth: 0, validatorUrl: null },
    });
  });
}

/** The catalog as a Markdown table, for the reference page at /docs. */
function scopeTable(product: Product): string {
  const rows = product.scopes.map((s) => `| \`${s.scope}\` | ${s.group} | ${s.description.replaceAll('|', '\\|')} |`);
  return ['### Scopes', '', '| scope | group | allows |', '|---|---|---|', ...rows].join('\n');
}

/**
 * The reference page loads only its own files (Swagger UI ships no inline script: its initializer is a
 * file), fetches the document and runs "Try it out" against this origin, and shows data: images (its
 * icons). It may not be framed (clickjacking "Try it out" on a signed-in page), nor post forms elsewhere.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const DOCS_HEADERS = {
  'content-security-policy': DOCS_CSP,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

type TransformInput = Parameters<typeof jsonSchemaTransform>[0];

const MANAGEMENT_SECURITY = {
  serviceKey: { type: 'http', scheme: 'bearer', description: 'A service key ({brand}_svc_…), for the management API (/v1)' },
  session: { type: 'apiKey', in: 'cookie', name: 'latchkey_session', description: 'A console session; changes also send X-CSRF-Token' },
  embedSession: { type: 'http', scheme: 'bearer', description: 'An embedded key-management session ({brand}_ems_…), from POST /v1/embed/exchange' },
} as const;

/**
 * The management API (`/v1/…`), for a SaaS backend's typed client: each operation says how it may be
 * called. With a service key (`Authorization: Bearer {brand}_svc_…`) holding `x-required-permission`
 * (null: any service key); with a person's session cookie (and X-CSRF-Token on changes); `x-session-only`
 * marks the routes a service key can never call (setup, login, invitations); `x-embed-capability` what an
 * embedded session needs (null: any; absent: embedded sessions are refused).
 */
function managementOperation(document: TransformInput) {
  const config = document.route.config as { permission?: string | null; capability?: string | null; public?: boolean; serviceKeyOnly?: boolean } | undefined;
  const transformed = jsonSchemaTransform(document);
  const permission = config?.permission;
  const capability = config?.capability;
  const security: Array<Record<string, string[]>> = [];
  if (permission !== undefined) security.push({ serviceKey: permission === null ? [] : [permission] });
  if (!config?.serviceKeyOnly && !config?.public) security.push({ session: [] });
  if (capability !== undefined && !config?.public) security.push({ embedSession: capability === null ? [] : [capability] });
  const needs =
    permission === undefined ? 'For people signed in to the console only: a service key is refused.' : permission === null ? 'Any service key may call it.' : `A service key needs the \`${permission}\` permission.`;
  return {
    url: transformed.url,
    schema: {
      ...transformed.schema,
      description: [(transformed.schema as { description?: string } | undefined)?.description, needs].filter(Boolean).join('\n\n'),
      security: config?.public ? [] : security,
      ...(permission === undefined ? { 'x-session-only': true } : { 'x-required-permission': permission }),
      ...(capability === undefined ? {} : { 'x-embed-capability': capability }),
    } as unknown as FastifySchema,
  };
}
