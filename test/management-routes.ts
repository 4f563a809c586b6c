import type { Capability } from '../src/embed/capabilities.js';
import type { Permission } from '../src/service-keys/permissions.js';

/**
 * Every management route, as PRODUCT.md gives it, and what a service key needs to call it: a permission,
 * `null` (any service key), or `session` (people only: a service key is refused). A literal, independent
 * of src/: test/service-keys.test.ts compares it with the routes the app registered (every /v1 route is in
 * /openapi.json), so a route added without an entry here, or whose permission changes, fails.
 * The fourth column is what an embedded key-management session needs: a capability, `null` (any
 * session), or nothing (refused); test/embed-sessions.test.ts holds the app to it.
 */
export type Need = Permission | null | 'session';
export type EmbedNeed = Capability | null | undefined;
export const MANAGEMENT_ROUTES: ReadonlyArray<readonly [method: string, path: string, need: Need, embed?: EmbedNeed]> = [
  ['GET', '/v1/setup', 'session'],
  ['POST', '/v1/setup', 'session'],
  ['POST', '/v1/auth/login', 'session'],
  ['POST', '/v1/auth/logout', 'session'],
  ['GET', '/v1/auth/me', 'session'],
  ['GET', '/v1/invitations/{token}', 'session'],
  ['POST', '/v1/invitations/{token}/accept', 'session'],
  ['POST', '/v1/workspaces/{workspace_id}/members', 'session'],
  ['GET', '/v1/workspaces/{workspace_id}/invitations', 'session'],
  ['DELETE', '/v1/workspaces/{workspace_id}/invitations/{invitation_id}', 'session'],
  ['GET', '/v1/scopes', null, null],
  ['GET', '/v1/product', null, null],
  ['POST', '/v1/workspaces', 'workspaces:write'],
  ['GET', '/v1/workspaces', 'workspaces:read'],
  ['GET', '/v1/workspaces/{workspace_id}', 'workspaces:read'],
  ['PATCH', '/v1/workspaces/{workspace_id}', 'workspaces:write'],
  ['GET', '/v1/workspaces/{workspace_id}/members', 'workspaces:read'],
  ['PATCH', '/v1/workspaces/{workspace_id}/members/{user_id}', 'workspaces:write'],
  ['DELETE', '/v1/workspaces/{workspace_id}/members/{user_id}', 'workspaces:write'],
  ['POST', '/v1/workspaces/{workspace_id}/demo-data', 'workspaces:write'],
  ['GET', '/v1/workspaces/{workspace_id}/api-keys', 'keys:read', 'keys:read'],
  ['POST', '/v1/workspaces/{workspace_id}/api-keys', 'keys:write', 'keys:write'],
  ['GET', '/v1/workspaces/{workspace_id}/api-keys/{key_id}', 'keys:read', 'keys:read'],
  ['PATCH', '/v1/workspaces/{workspace_id}/api-keys/{key_id}', 'keys:write', 'keys:write'],
  ['POST', '/v1/workspaces/{workspace_id}/api-keys/{key_id}/rotate', 'keys:write', 'keys:rotate'],
  ['POST', '/v1/workspaces/{workspace_id}/api-keys/{key_id}/secrets/{secret_id}/revoke', 'keys:write', 'keys:revoke'],
  ['DELETE', '/v1/workspaces/{workspace_id}/api-keys/{key_id}', 'keys:write', 'keys:revoke'],
  ['GET', '/v1/workspaces/{workspace_id}/api-keys/{key_id}/usage', 'audit:read', 'usage:read'],
  ['GET', '/v1/workspaces/{workspace_id}/audit-events', 'audit:read', 'audit:read'],
  ['GET', '/v1/workspaces/{workspace_id}/audit-events/export', 'audit:read', 'audit:read'],
  ['GET', '/v1/workspaces/{workspace_id}/audit-events/{event_id}', 'audit:read', 'audit:read'],
  ['GET', '/v1/workspaces/{workspace_id}/management-events', 'audit:read'],
  ['GET', '/v1/workspaces/{workspace_id}/anomalies', 'audit:read', 'usage:read'],
  ['GET', '/v1/workspaces/{workspace_id}/event-endpoints', 'events:manage'],
  ['POST', '/v1/workspaces/{workspace_id}/event-endpoints', 'events:manage'],
  ['GET', '/v1/workspaces/{workspace_id}/event-endpoints/{endpoint_id}', 'events:manage'],
  ['PATCH', '/v1/workspaces/{workspace_id}/event-endpoints/{endpoint_id}', 'events:manage'],
  ['POST', '/v1/workspaces/{workspace_id}/event-endpoints/{endpoint_id}/rotate-secret', 'events:manage'],
  ['POST', '/v1/workspaces/{workspace_id}/event-endpoints/{endpoint_id}/test', 'events:manage'],
  ['GET', '/v1/workspaces/{workspace_id}/event-endpoints/{endpoint_id}/deliveries', 'events:manage'],
  ['POST', '/v1/workspaces/{workspace_id}/event-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry', 'events:manage'],
  ['DELETE', '/v1/workspaces/{workspace_id}/event-endpoints/{endpoint_id}', 'events:manage'],
  ['GET', '/v1/event-endpoints', 'events:manage'],
  ['POST', '/v1/event-endpoints', 'events:manage'],
  ['GET', '/v1/event-endpoints/{endpoint_id}', 'events:manage'],
  ['PATCH', '/v1/event-endpoints/{endpoint_id}', 'events:manage'],
  ['POST', '/v1/event-endpoints/{endpoint_id}/rotate-secret', 'events:manage'],
  ['POST', '/v1/event-endpoints/{endpoint_id}/test', 'events:manage'],
  ['GET', '/v1/event-endpoints/{endpoint_id}/deliveries', 'events:manage'],
  ['POST', '/v1/event-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry', 'events:manage'],
  ['DELETE', '/v1/event-endpoints/{endpoint_id}', 'events:manage'],
  ['PATCH', '/v1/workspaces/{workspace_id}/anomalies/{anomaly_id}', 'keys:write', undefined],
  ['POST', '/v1/keys/verify', 'keys:verify'],
  ['POST', '/v1/embed/sessions', 'embed:create'],
  ['POST', '/v1/embed/exchange', 'session'],
  ['GET', '/v1/embed/session', 'session', null],
];

export const routeName = (method: string, path: string) => `${method} ${path}`;

export function urlOf(path: string, ids: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => ids[name] ?? `missing-${name}`);
}

/** A body each route accepts (in table order: the member's role changes before they are removed, the key is rotated before its first secret is revoked and before it is revoked). */
export const BODIES: Record<string, unknown | ((ids: Record<string, string>) => unknown)> = {
  'POST /v1/embed/sessions': (ids: Record<string, string>) => ({ workspace_id: ids.workspace_id, user: { external_id: 'u-1' }, capabilities: ['keys:read'] }),
  'POST /v1/embed/exchange': { code: 'x'.repeat(43) },
  'POST /v1/workspaces': { name: 'Made by a service key' },
  'PATCH /v1/workspaces/{workspace_id}': { name: 'Renamed by a service key' },
  'PATCH /v1/workspaces/{workspace_id}/members/{user_id}': { role: 'admin' },
  'POST /v1/workspaces/{workspace_id}/api-keys': { name: 'svc-made', scopes: ['tickets:read'] },
  'PATCH /v1/workspaces/{workspace_id}/api-keys/{key_id}': { name: 'renamed' },
  'PATCH /v1/workspaces/{workspace_id}/anomalies/{anomaly_id}': { status: 'acknowledged' },
  'POST /v1/setup': { email: 'x@example.com', password: 'long enough password', workspace_name: 'x' },
  'POST /v1/auth/login': { email: 'x@example.com', password: 'long enough password' },
  'POST /v1/workspaces/{workspace_id}/members': { email: 'x@example.com', role: 'admin' },
  'POST /v1/workspaces/{workspace_id}/event-endpoints': { url: 'https://hooks.example.com/svc-made', events: ['api_key.created'] },
  'PATCH /v1/workspaces/{workspace_id}/event-endpoints/{endpoint_id}': { description: 'changed by a service key' },
  'POST /v1/event-endpoints': { url: 'https://hooks.example.com/installation', events: ['*'] },
  'PATCH /v1/event-endpoints/{endpoint_id}': { enabled: false },
  'POST /v1/keys/verify': { key: 'lk_live_not_a_real_key', client_ip: '203.0.113.7' },
};

/** The body BODIES gives a route, with the fixture's ids where it needs them. */
export function bodyFor(method: string, path: string, ids: Record<string, string>): unknown {
  const given = BODIES[routeName(method, path)];
  return typeof given === 'function' ? (given as (ids: Record<string, string>) => unknown)(ids) : given;
}
