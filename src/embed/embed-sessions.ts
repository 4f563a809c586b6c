import { hashSessionToken, newSessionToken } from '../accounts/session-token.js';
import { recordManagementEvent, type ActionContext } from '../audit/management-log.js';
import type { Db } from '../db/client.js';
import { AppError, notFound } from '../http/errors.js';
import { iso } from '../http/schemas.js';
import { newId } from '../ids.js';
import { generateServiceSecret, hashSecret, isWellFormedServiceSecret } from '../keys/key-format.js';
import type { Permission } from '../service-keys/permissions.js';
import type { ServiceKeyCaller } from '../service-keys/service-keys.js';
import { capabilitiesWithin, PERMISSION_FOR, type Capability } from './capabilities.js';

/** A link works for 5 minutes: long enough for a page to load the frame, short enough to be useless in a log. */
export const LINK_TTL_SECONDS = 300;
/** A session lasts at most a working day; the SaaS mints a fresh one each time its settings page opens. */
export const MAX_SESSION_TTL_SECONDS = 8 * 3600;
export const DEFAULT_SESSION_TTL_SECONDS = 3600;

const LINK_USED = 'This key management link was already used: each link opens once. Open key management again from the product you came from.';

/** The SaaS's own user an embedded session acts for. */
export interface ExternalUser {
  external_id: string;
  email?: string | undefined;
  name?: string | undefined;
}

export interface MintInput {
  workspace_id: string;
  user: ExternalUser;
  capabilities: Capability[];
  return_url?: string | undefined;
  session_ttl_seconds?: number | undefined;
}

/** An embedded session that authenticated a management request. */
export interface EmbedCaller {
  id: string;
  workspaceId: string;
  /** The service key that minted the session: its permissions bound the session's, and its revocation ends it. */
  serviceKey: { id: string; name: string };
  user: { externalId: string; email: string | null; name: string | null };
  /** The capabilities given at minting that the service key still holds. */
  capabilities: ReadonlySet<Capability>;
  returnUrl: string | null;
  expiresAt: Date;
}

export interface EmbedSessionsDeps {
  db: Db;
  keyPrefix: string;
  product: { name: string; accentColor: string | undefined };
  now: () => Date;
}

/**
 * Embedded key management (PRODUCT.md): a service key mints a single-use link for one workspace, one of the
 * SaaS's users and some capabilities; the browser that opens it exchanges the link's code for a session
 * token, which it sends as `Authorization: Bearer {brand}_ems_…` (no cookie: a third-party frame may have
 * none). Only hashes of the code and the token are stored.
 */
export function createEmbedSessions(deps: EmbedSessionsDeps) {
  const { db, keyPrefix, now } = deps;

  function actionContextOf(row: { id: string; service_key_id: string; user_external_id: string; user_email: string | null }, serviceKeyName: string, request: Omit<ActionContext, 'actor'>): ActionContext {
    return {
      ...request,
      actor: null,
      serviceKey: { id: row.service_key_id, name: serviceKeyName },
      externalUser: { externalId: row.user_external_id, email: row.user_email },
      embedSessionId: row.id,
    };
  }

  async function describe(id: string) {
    const row = await db
      .selectFrom('embed_sessions as e')
      .innerJoin('workspaces as w', 'w.id', 'e.workspace_id')
      .select(['e.id', 'e.expires_at', 'e.user_external_id', 'e.user_email', 'e.user_name', 'e.return_url', 'w.id as workspace_id', 'w.name as workspace_name', 'w.external_id as workspace_external_id'])
      .where('e.id', '=', id)
      .executeTakeFirstOrThrow();
    return row;
  }

  function present(row: Awaited<ReturnType<typeof describe>>, capabilities: Iterable<Capability>) {
    return {
      object: 'embed_session' as const,
      id: row.id,
      expires_at: iso(row.expires_at),
      workspace: { id: row.workspace_id, name: row.workspace_name, external_id: row.workspace_external_id },
      user: { external_id: row.user_external_id, email: row.user_email, name: row.user_name },
      capabilities: [...capabilities],
      return_url: row.return_url,
      product: { name: deps.product.name, accent_color: deps.product.accentColor ?? null },
    };
  }

  return {
    /** Whether a Bearer token is meant as an embedded session of this installation. */
    looksLikeSession(token: string): boolean {
      return token.startsWith(`${keyPrefix}_ems_`);
    },

    /** A single-use link for `input.user` in `input.workspace_id`; refused if it would exceed the service key. */
    async mint(serviceKey: ServiceKeyCaller, input: MintInput, context: ActionContext, baseUrl: string) {
      const lacking = input.capabilities.filter((capability) => !serviceKey.permissions.has(PERMISSION_FOR[capability]));
      if (lacking.length > 0) {
        const capability = lacking[0]!;
        throw new AppError(
          'insufficient_permission',
          `This service key does not have the ${PERMISSION_FOR[capability]} permission, so it cannot give a session the ${capability} capability.`,
          { param: 'capabilities' },
        );
      }
      if (serviceKey.workspaceIds && !serviceKey.workspaceIds.has(input.workspace_id)) throw notFound('workspace');
      const code = newSessionToken();
      const created = now();
      const id = newId('emb');
      const ttl = input.session_ttl_seconds ?? DEFAULT_SESSION_TTL_SECONDS;
      const capabilities = capabilitiesWithin(input.capabilities, serviceKey.permissions);
      await db.transaction().execute(async (tx) => {
        const workspace = await tx.selectFrom('workspaces').select('id').where('id', '=', input.workspace_id).executeTakeFirst();
        if (!workspace) throw notFound('workspace');
        await tx
          .insertInto('embed_sessions')
          .values({
            id,
            workspace_id: input.workspace_id,
            service_key_id: serviceKey.id,
            user_external_id: input.user.external_id,
            user_email: input.user.email ?? null,
            user_name: input.user.name ?? null,
            capabilities,
            return_url: input.return_url ?? null,
            session_ttl_seconds: ttl,
            code_hash: hashSessionToken(code),
            code_expires_at: new Date(created.getTime() + LINK_TTL_SECONDS * 1000),
            created_at: created,
          })
          .execute();
        await recordManagementEvent(tx, context, {
          workspaceId: input.workspace_id,
          action: 'embed.link_created',
          target: { type: 'embed_session', id },
          details: { user_external_id: input.user.external_id, capabilities, session_ttl_seconds: ttl },
        });
      });
      return {
        object: 'embed_link' as const,
        id,
        // A fragment: opening the link sends the code to no server log and no Referer.
        url: `${baseUrl}/embed#code=${code}`,
        expires_at: new Date(created.getTime() + LINK_TTL_SECONDS * 1000).toISOString(),
        workspace_id: input.workspace_id,
        capabilities,
        session_ttl_seconds: ttl,
      };
    },

    /**
     * The link's code for a session token, once. A second use is refused and recorded, and ends the session
     * the first use opened: a link that is used twice has been seen by someone it was not meant for.
     */
    async exchange(code: string, request: Omit<ActionContext, 'actor'>) {
      const at = now();
      const row = await db
        .selectFrom('embed_sessions as e')
        .innerJoin('service_keys as s', 's.id', 'e.service_key_id')
        .select(['e.id', 'e.workspace_id', 'e.service_key_id', 'e.user_external_id', 'e.user_email', 'e.capabilities', 'e.session_ttl_seconds', 'e.return_url', 'e.code_expires_at', 'e.exchanged_at', 's.name as service_key_name', 's.permissions', 's.revoked_at as service_key_revoked_at'])
        .where('e.code_hash', '=', hashSessionToken(code))
        .executeTakeFirst();
      if (!row) throw new AppError('embed_link_not_found', 'This key management link is not valid. Open key management again from the product you came from.');
      const context = actionContextOf(row, row.service_key_name, request);
      // The page that cannot open says where to go back to, as the session would have.
      const fields = row.return_url === null ? {} : { fields: { return_url: row.return_url } };
      if (row.exchanged_at !== null) {
        await db.transaction().execute(async (tx) => {
          await tx.updateTable('embed_sessions').set({ ended_at: at }).where('id', '=', row.id).where('ended_at', 'is', null).execute();
          await recordManagementEvent(tx, context, { workspaceId: row.workspace_id, action: 'embed.link_reused', target: { type: 'embed_session', id: row.id } });
        });
        throw new AppError('embed_link_used', LINK_USED, fields);
      }
      if (row.code_expires_at <= at) {
        throw new AppError('embed_link_expired', 'This key management link has expired: links work for 5 minutes. Open key management again from the product you came from.', fields);
      }
      // The service key that minted it was revoked since: the link ends with it, as its sessions do.
      if (row.service_key_revoked_at !== null) {
        throw new AppError('embed_link_expired', 'This key management link is no longer valid. Open key management again from the product you came from.', fields);
      }
      const token = generateServiceSecret(keyPrefix, 'ems');
      const expiresAt = new Date(at.getTime() + row.session_ttl_seconds * 1000);
      const opened = await db.transaction().execute(async (tx) => {
        // Only one of two racing exchanges wins the row; the other is a second use.
        const updated = await tx
          .updateTable('embed_sessions')
          .set({ exchanged_at: at, token_hash: hashSecret(token), expires_at: expiresAt })
          .where('id', '=', row.id)
          .where('exchanged_at', 'is', null)
          .executeTakeFirst();
        if (updated.numUpdatedRows === 0n) return false;
        await recordManagementEvent(tx, context, { workspaceId: row.workspace_id, action: 'embed.session_started', target: { type: 'embed_session', id: row.id } });
        return true;
      });
      if (!opened) throw new AppError('embed_link_used', LINK_USED, fields);
      const capabilities = capabilitiesWithin(row.capabilities, new Set(row.permissions as Permission[]));
      return { token, session: present(await describe(row.id), capabilities) };
    },

    /** The session a Bearer token belongs to, or null: unknown, expired, ended, or its service key revoked. */
    async resolve(token: string): Promise<EmbedCaller | null> {
      if (!isWellFormedServiceSecret(token, keyPrefix, 'ems')) return null;
      const row = await db
        .selectFrom('embed_sessions as e')
        .innerJoin('service_keys as s', 's.id', 'e.service_key_id')
        .select(['e.id', 'e.workspace_id', 'e.service_key_id', 'e.user_external_id', 'e.user_email', 'e.user_name', 'e.capabilities', 'e.return_url', 'e.expires_at', 's.name as service_key_name', 's.permissions'])
        .where('e.token_hash', '=', hashSecret(token))
        .where('e.ended_at', 'is', null)
        .where('s.revoked_at', 'is', null)
        .executeTakeFirst();
      if (!row || row.expires_at === null || row.expires_at <= now()) return null;
      return {
        id: row.id,
        workspaceId: row.workspace_id,
        serviceKey: { id: row.service_key_id, name: row.service_key_name },
        user: { externalId: row.user_external_id, email: row.user_email, name: row.user_name },
        capabilities: new Set(capabilitiesWithin(row.capabilities, new Set(row.permissions as Permission[]))),
        returnUrl: row.return_url,
        expiresAt: row.expires_at,
      };
    },

    /** What the embedded console shows: the workspace, the user, the capabilities and the product. */
    async session(caller: EmbedCaller) {
      return present(await describe(caller.id), caller.capabilities);
    },
  };
}

export type EmbedSessions = ReturnType<typeof createEmbedSessions>;
