import { Client, PASSWORD, type Harness, type Tenant } from './harness.js';
import type { Role } from '../src/db/schema.js';

/**
 * A new person joins a tenant's workspace the only way there is: the Owner invites the email and the person
 * opens the link and chooses a password. Returns their signed-in client and user id.
 */
export async function inviteAndJoin(h: Harness, tenant: Tenant, email: string, role: Role): Promise<{ client: Client; userId: string }> {
  const invite = await tenant.client.post(`/v1/workspaces/${tenant.workspaceId}/members`, { email, role });
  if (invite.status !== 201) throw new Error(`invite failed: ${invite.raw}`);
  const client = new Client(h.app);
  const accepted = await client.post(`/v1/invitations/${invite.body.token}/accept`, { password: PASSWORD });
  if (accepted.status !== 200) throw new Error(`accept failed: ${accepted.raw}`);
  return { client, userId: accepted.body.user.id as string };
}
