import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/**
 * The public API's OpenAPI 3.1 document, generated from the same Zod schemas that validate requests,
 * at /openapi.json, and a readable reference at /docs. Each operation names the scope it needs
 * (`security` and `x-required-scope`). Registered before the routes, so it sees each as it is added.
 */
export async function registerOpenApi(app: FastifyInstance, keyPrefix: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Latchkey API',
        version: '1',
        description:
          `Call with \`Authorization: Bearer ${keyPrefix}_live_…\` (or a \`${keyPrefix}_test_…\` key for the test view). ` +
          'Every response carries X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset; a 429 carries Retry-After. ' +
          'Errors are {"error": {"type", "code", "message", "request_id"}}.',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'A Latchkey API key' } },
      },
    },
    transform: (document) => {
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
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', defaultModelsExpandDepth: 0 } });
}
