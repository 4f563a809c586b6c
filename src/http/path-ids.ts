import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify';
import { isId, type IdPrefix } from '../ids.js';
import { notFound } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route's `:id` parameter holds (the product API's records: one prefix per resource). */
    pathId?: PathIdKind;
  }
}

/** The prefix of the ids a path parameter holds, and what a 404 calls the thing. */
export interface PathIdKind {
  prefix: IdPrefix;
  noun: string;
}

/** What each named path parameter holds. */
export const PATH_IDS: Readonly<Record<string, PathIdKind>> = {
  workspace_id: { prefix: 'ws', noun: 'workspace' },
  key_id: { prefix: 'key', noun: 'API key' },
  secret_id: { prefix: 'sec', noun: 'secret version' },
  user_id: { prefix: 'usr', noun: 'member' },
  event_id: { prefix: 'evt', noun: 'audit event' },
  invitation_id: { prefix: 'inv', noun: 'invitation' },
  endpoint_id: { prefix: 'whe', noun: 'event endpoint' },
  delivery_id: { prefix: 'evd', noun: 'delivery' },
  anomaly_id: { prefix: 'anf', noun: 'anomaly' },
};

interface PathId extends PathIdKind {
  name: string;
}

/**
 * The id parameters of a route pattern (`/v1/workspaces/:workspace_id/api-keys/:key_id`). A parameter that
 * looks like an id (`id`, `…_id`) but has no known prefix is a mistake in the route, refused at start.
 */
export function pathIdsOf(url: string, plainId: PathIdKind | undefined): PathId[] {
  const ids: PathId[] = [];
  for (const [, name] of url.matchAll(/:([A-Za-z0-9_]+)/g)) {
    if (name === undefined) continue;
    const known = PATH_IDS[name];
    if (known) ids.push({ name, ...known });
    else if (name === 'id' && plainId) ids.push({ name, ...plainId });
    else if (name === 'id' || name.endsWith('_id')) {
      throw new Error(`${url}: the path parameter :${name} has no id prefix; add it to PATH_IDS or set config.pathId`);
    }
  }
  return ids;
}

/**
 * Every id in a path is checked for shape (its prefix, the alphabet and length of src/ids.ts) before any
 * hook or handler looks it up: an id of the wrong shape answers 404 not_found, exactly as an unknown id
 * does, and never reaches the database (a NUL there makes PostgreSQL fail; a 5,000-character id costs a
 * scan for nothing). One onRoute hook adds the check to every route with an id, and to no other route,
 * so the hot path without ids pays nothing. The check is a route-level onRequest hook: it runs after the
 * surface's own onRequest hooks (session, API key), so a caller who is not signed in still gets 401 and
 * learns nothing about the id, and before the workspace check (preValidation), which queries the database.
 */
export function checkPathIds(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const ids = pathIdsOf(route.url, route.config?.pathId);
    if (ids.length === 0) return;
    const check = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const params = request.params as Record<string, string | undefined>;
      for (const id of ids) {
        const value = params[id.name];
        if (value === undefined || !isId(id.prefix, value)) return done(notFound(id.noun));
      }
      done();
    };
    const existing = route.onRequest;
    route.onRequest = existing === undefined ? [check] : Array.isArray(existing) ? [...existing, check] : [existing, check];
  });
}
