import type { ProductFile } from '../product/product.js';

type GatewayFile = NonNullable<ProductFile['gateway']>;
type RouteFile = GatewayFile['routes'][number];

/** A route of the product file's gateway, ready to match: what it needs and where it goes. */
export interface GatewayRoute {
  /** `GET /v1/contacts/{id}`: as the product file says it, for messages and the audit log. */
  label: string;
  /** The path template, the audit event's `route`. */
  path: string;
  upstream: string;
  /** The scope a key needs, null for any valid key; ignored on a public route. */
  scope: string | null;
  public: boolean;
}

interface CompiledRoute extends GatewayRoute {
  method: string;
  pattern: RegExp;
}

export interface RouteTable {
  /** The first route, in the file's order, whose method and path template match; null if none does. */
  match(method: string, path: string): GatewayRoute | null;
}

/**
 * Compiles the routes once, at start. A `{param}` matches one path segment (never a `/`), anything else
 * matches itself exactly; paths are compared as the client sent them, never decoded, so what matched is
 * what the upstream receives. A trailing slash is a different path, as it is to most routers.
 */
export function compileRoutes(routes: readonly RouteFile[]): RouteTable {
  const compiled: CompiledRoute[] = routes.map((route) => ({
    method: route.method,
    pattern: templatePattern(route.path),
    label: `${route.method === '*' ? 'ANY' : route.method} ${route.path}`,
    path: route.path,
    upstream: route.upstream,
    scope: route.scope ?? null,
    public: route.public === true,
  }));
  return {
    match(method, path) {
      for (const route of compiled) {
        // HEAD is a GET without the body: a GET route serves it, as every HTTP router does.
        const methodMatches = route.method === '*' || route.method === method || (method === 'HEAD' && route.method === 'GET');
        if (methodMatches && route.pattern.test(path)) return route;
      }
      return null;
    },
  };
}

function templatePattern(template: string): RegExp {
  const source = template
    .split(/(\{[^{}/]+\})/)
    .map((part) => (/^\{[^{}/]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

/** How many times a path is decoded looking for a hidden `..` or `/`: `%2525252e` is four layers deep. */
const DECODE_DEPTH = 4;

/**
 * Why a path may not pass, or null. A route is matched on the path as sent, and an upstream may decode
 * and normalise it afterwards: `/v1/status/..%2Fadmin` matches a public `/v1/status/{page}` here and is
 * `/v1/admin` there. So a path is refused when, at any depth of percent-decoding, it holds a `.` or `..`
 * segment, a backslash, or a `/` that was not one in the path as sent; when it is not valid escaping; and
 * when it still decodes to something else after DECODE_DEPTH layers, deeper than any check here looked.
 */
export function unsafePath(path: string): string | null {
  const segments = path.split('/').length;
  let current = path;
  for (let depth = 0; ; depth++) {
    if (current.includes('\\')) return 'a backslash';
    const parts = current.split('/');
    if (parts.length !== segments) return 'an encoded slash';
    if (parts.some((part) => part === '.' || part === '..')) return 'a dot segment (. or ..)';
    if (!current.includes('%')) return null;
    let decoded: string;
    try {
      decoded = decodeURIComponent(current);
    } catch {
      return depth === 0 ? 'a malformed %-escape' : null;
    }
    if (decoded === current) return null;
    if (depth === DECODE_DEPTH) return `%-escapes nested more than ${DECODE_DEPTH} deep`;
    current = decoded;
  }
}
