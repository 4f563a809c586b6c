import { createClient, type ErrorBody } from '@latchkey/sdk';
import { capabilitiesOf, type Account, type User } from './users.js';

/** The single-use link Latchkey answers: open it (framed or top level) within five minutes, once. */
export interface EmbedLink {
  url: string;
  expires_at: string;
}

/** Why no link could be made; `code` is Latchkey's error code (or ours when it could not be reached). */
export class MintError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message = `Latchkey answered ${status} ${code}`,
  ) {
    super(message);
  }
}

function refusal(status: number, error: unknown): MintError {
  return new MintError(status, (error as ErrorBody | undefined)?.error?.code ?? 'unexpected_answer');
}

export interface EmbedMinterOptions {
  /** Latchkey's address as our backend reaches it. */
  baseUrl: string;
  /** A service key with embed:create, workspaces:read, workspaces:write and the permissions behind the capabilities we grant. */
  serviceKey: string;
  /** How long one call to Latchkey may take before the page says so (default 5 s). */
  timeoutMs?: number;
}

/**
 * Makes embed links for our signed-in users. Each customer account has its workspace in Latchkey, found by
 * our account id (its external id) and created on first use; every call names the user it is made for
 * (Latchkey-On-Behalf-Of), so Latchkey's management log says who asked.
 */
export function createEmbedMinter(options: EmbedMinterOptions) {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const latchkey = createClient({
    baseUrl: options.baseUrl,
    serviceKey: options.serviceKey,
    // A Latchkey that does not answer must not hold our page forever.
    fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }),
  });
  /** Account id → workspace id: a workspace never changes its external id, so it is looked up once. */
  const workspaceIds = new Map<string, string>();

  async function findWorkspace(account: Account, headers: Record<string, string>): Promise<string | undefined> {
    const found = await latchkey.GET('/v1/workspaces', { params: { query: { external_id: account.id } }, headers });
    if (!found.data) throw refusal(found.response.status, found.error);
    return found.data.data[0]?.id;
  }

  async function workspaceOf(account: Account, headers: Record<string, string>): Promise<string> {
    const known = workspaceIds.get(account.id) ?? (await findWorkspace(account, headers));
    if (known) return known;
    const created = await latchkey.POST('/v1/workspaces', { body: { name: account.name, external_id: account.id }, headers });
    if (created.data) return created.data.id;
    // Another request created it a moment ago.
    if ((created.error as ErrorBody | undefined)?.error?.code === 'external_id_taken') {
      const id = await findWorkspace(account, headers);
      if (id) return id;
    }
    throw refusal(created.response.status, created.error);
  }

  return {
    /** A fresh single-use link to the user's key management; `returnUrl` for the top-level page's "Back to" link. */
    async mint(user: User, returnUrl?: string): Promise<EmbedLink> {
      const headers = { 'latchkey-on-behalf-of': user.id };
      try {
        const workspaceId = await workspaceOf(user.account, headers);
        workspaceIds.set(user.account.id, workspaceId);
        const answer = await latchkey.POST('/v1/embed/sessions', {
          body: {
            workspace_id: workspaceId,
            user: { external_id: user.id, email: user.email, name: user.name },
            capabilities: capabilitiesOf(user),
            ...(returnUrl ? { return_url: returnUrl } : {}),
          },
          headers,
        });
        if (!answer.data) throw refusal(answer.response.status, answer.error);
        return answer.data;
      } catch (error) {
        if (error instanceof MintError) {
          // The workspace may have been deleted in Latchkey: look it up again next time.
          if (error.status === 404) workspaceIds.delete(user.account.id);
          throw error;
        }
        // fetch failed: Latchkey down, unreachable or too slow.
        const timedOut = error instanceof Error && error.name === 'TimeoutError';
        throw new MintError(503, timedOut ? 'latchkey_timeout' : 'latchkey_unreachable', timedOut ? `Latchkey did not answer within ${timeoutMs} ms` : 'Latchkey could not be reached');
      }
    },
  };
}

export type EmbedMinter = ReturnType<typeof createEmbedMinter>;
