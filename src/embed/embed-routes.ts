import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { externalId } from '../accounts/workspaces-routes.js';
import { actionContext } from '../http/context.js';
import { AppError } from '../http/errors.js';
import { email, pathId, text } from '../http/schemas.js';
import { CAPABILITIES } from './capabilities.js';
import { DEFAULT_SESSION_TTL_SECONDS, MAX_SESSION_TTL_SECONDS, type EmbedSessions } from './embed-sessions.js';

const mintBody = z.strictObject({
  workspace_id: pathId,
  user: z.strictObject({
    external_id: externalId,
    email: email.optional(),
    name: z.string().trim().min(1).max(200).pipe(text(200)).optional(),
  }),
  capabilities: z
    .array(z.enum(CAPABILITIES))
    .min(1)
    .max(CAPABILITIES.length)
    .refine((list) => new Set(list).size === list.length, { message: 'must not list a capability twice' })
    .refine((list) => list.includes('keys:read'), { message: 'must include keys:read: the embedded pages start at the keys list' }),
  return_url: z.url({ protocol: /^https?$/ }).max(2048).optional(),
  session_ttl_seconds: z.number().int().min(300).max(MAX_SESSION_TTL_SECONDS).default(DEFAULT_SESSION_TTL_SECONDS),
});

/** The link's code: 32 random bytes as base64url (43 characters); anything else is no code of ours. */
const exchangeBody = z.strictObject({ code: z.string().max(100) });

const sessionObject = z.object({
  object: z.literal('embed_session'),
  id: z.string(),
  expires_at: z.string().nullable(),
  workspace: z.object({ id: z.string(), name: z.string(), external_id: z.string().nullable() }),
  user: z.object({ external_id: z.string(), email: z.string().nullable(), name: z.string().nullable() }),
  capabilities: z.array(z.enum(CAPABILITIES)),
  return_url: z.string().nullable(),
  product: z.object({ name: z.string(), accent_color: z.string().nullable() }),
});

const linkObject = z.object({
  object: z.literal('embed_link'),
  id: z.string(),
  url: z.string(),
  expires_at: z.string(),
  workspace_id: z.string(),
  capabilities: z.array(z.enum(CAPABILITIES)),
  session_ttl_seconds: z.number().int(),
});

export interface EmbedRoutesOptions {
  embedSessions: EmbedSessions;
  /** PUBLIC_URL: where browsers reach Latchkey, when it is not where the SaaS backend calls it. */
  publicUrl: string | undefined;
}

function baseUrl(request: FastifyRequest, publicUrl: string | undefined): string {
  return publicUrl ?? `${request.protocol}://${request.host}`;
}

/** Embedded key management (PRODUCT.md): minted by the SaaS backend, opened by its user's browser. */
export const embedRoutes: FastifyPluginAsyncZod<EmbedRoutesOptions> = async (app, { embedSessions, publicUrl }) => {
  app.post(
    '/v1/embed/sessions',
    { config: { permission: 'embed:create', serviceKeyOnly: true }, schema: { body: mintBody, response: { 201: linkObject } } },
    async (request, reply) => {
      const serviceKey = request.serviceKey;
      if (!serviceKey) throw new AppError('not_authenticated', 'Send a service key as Authorization: Bearer <service key>.');
      const link = await embedSessions.mint(serviceKey, request.body, actionContext(request), baseUrl(request, publicUrl));
      return reply.code(201).send(link);
    },
  );

  // The code is the credential here: the browser that opens the link has nothing else yet.
  app.post('/v1/embed/exchange', { config: { public: true }, schema: { body: exchangeBody } }, async (request) => {
    const { actor: _none, ...context } = actionContext(request);
    return embedSessions.exchange(request.body.code, context);
  });

  app.get('/v1/embed/session', { config: { capability: null }, schema: { response: { 200: sessionObject } } }, async (request) => {
    if (!request.embed) throw new AppError('embed_session_invalid', 'Send the embedded session token as Authorization: Bearer <token>.');
    return embedSessions.session(request.embed);
  });
};
