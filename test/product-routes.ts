/**
 * The public API's routes and the scope each needs, copied by hand from PRODUCT.md ("The public API":
 * the scope catalog and the routes table). It is deliberately a literal, independent of src/: the suites
 * that check scopes (scope-matrix, openapi, api-resources) compare the running server against it, so a
 * route whose scope is changed in the code (DELETE asking for `policies:read`) fails them instead of
 * moving their expectation along with it. A new route must be added here, and to PRODUCT.md, first.
 */

/** PRODUCT.md's default scope catalog, in its order. */
export const PRODUCT_SCOPES = [
  'conversations:read', 'conversations:write',
  'contacts:read', 'contacts:write',
  'tickets:read', 'tickets:write',
  'scorecards:read',
  'agents:read',
  'webhooks:manage',
  'knowledge_base:read', 'knowledge_base:write',
  'accounts:read', 'accounts:write',
  'policies:read', 'policies:write',
  'keys:rotate_self',
] as const;

export type ProductScope = (typeof PRODUCT_SCOPES)[number];

export interface ProductRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** OpenAPI's form: `/api/v1/tickets/{id}`. */
  path: string;
  /** null: any valid key may call it. */
  scope: ProductScope | null;
}

const r = (method: ProductRoute['method'], path: string, scope: ProductScope | null): ProductRoute => ({ method, path, scope });

export const PRODUCT_ROUTES: readonly ProductRoute[] = [
  r('GET', '/api/v1/conversations', 'conversations:read'),
  r('GET', '/api/v1/conversations/{id}', 'conversations:read'),
  r('GET', '/api/v1/conversations/{id}/traces', 'conversations:read'),
  r('POST', '/api/v1/conversations', 'conversations:write'),

  r('GET', '/api/v1/contacts', 'contacts:read'),
  r('GET', '/api/v1/contacts/{id}', 'contacts:read'),
  r('POST', '/api/v1/contacts', 'contacts:write'),

  r('GET', '/api/v1/tickets', 'tickets:read'),
  r('GET', '/api/v1/tickets/{id}', 'tickets:read'),
  r('POST', '/api/v1/tickets', 'tickets:write'),
  r('PATCH', '/api/v1/tickets/{id}', 'tickets:write'),

  r('GET', '/api/v1/scorecards', 'scorecards:read'),
  r('GET', '/api/v1/scorecards/{id}', 'scorecards:read'),

  r('GET', '/api/v1/agents', 'agents:read'),
  r('GET', '/api/v1/agents/{id}', 'agents:read'),

  r('GET', '/api/v1/webhooks', 'webhooks:manage'),
  r('POST', '/api/v1/webhooks', 'webhooks:manage'),
  r('GET', '/api/v1/webhooks/{id}', 'webhooks:manage'),
  r('PATCH', '/api/v1/webhooks/{id}', 'webhooks:manage'),
  r('DELETE', '/api/v1/webhooks/{id}', 'webhooks:manage'),

  r('GET', '/api/v1/knowledge_base', 'knowledge_base:read'),
  r('GET', '/api/v1/knowledge_base/{id}', 'knowledge_base:read'),
  r('POST', '/api/v1/knowledge_base', 'knowledge_base:write'),
  r('PATCH', '/api/v1/knowledge_base/{id}', 'knowledge_base:write'),
  r('DELETE', '/api/v1/knowledge_base/{id}', 'knowledge_base:write'),

  r('GET', '/api/v1/accounts', 'accounts:read'),
  r('GET', '/api/v1/accounts/{id}', 'accounts:read'),
  r('POST', '/api/v1/accounts', 'accounts:write'),
  r('PATCH', '/api/v1/accounts/{id}', 'accounts:write'),
  r('DELETE', '/api/v1/accounts/{id}', 'accounts:write'),

  r('GET', '/api/v1/policies', 'policies:read'),
  r('GET', '/api/v1/policies/{id}', 'policies:read'),
  r('POST', '/api/v1/policies', 'policies:write'),
  r('PATCH', '/api/v1/policies/{id}', 'policies:write'),
  r('DELETE', '/api/v1/policies/{id}', 'policies:write'),

  r('GET', '/api/v1/api_keys/current', null),
  r('POST', '/api/v1/api_keys/current/rotate', 'keys:rotate_self'),
  // Not in PRODUCT.md's table: the cheapest authenticated call (an integration's "does my key work", and
  // the hot-path benchmark's target). Like api_keys/current it needs a valid key and no scope.
  r('GET', '/api/v1/ping', null),
];

export const routeName = (route: { method: string; path: string }): string => `${route.method.toUpperCase()} ${route.path}`;

/** The operations /openapi.json documents under /api/v1, with the scope each declares. */
export function documentedRoutes(doc: { paths: Record<string, Record<string, { 'x-required-scope'?: string | null }>> }): Array<{ method: string; path: string; scope: string | null | undefined }> {
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/api/v1/'))
    .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, scope: op['x-required-scope'] })));
}
