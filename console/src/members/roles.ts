import type { Role } from '../api/types.ts';

export const ROLES: readonly Role[] = ['owner', 'admin', 'member'];

export function roleLabel(role: Role): string {
  return role === 'owner' ? 'Owner' : role === 'admin' ? 'Admin' : 'Member';
}

/** What a role may do, for confirmations: a role change is a grant or a loss of access. */
export function roleMeaning(role: Role): string {
  if (role === 'owner') return 'manage API keys, members and Owners, and read the audit log';
  if (role === 'admin') return 'manage API keys and members (not Owners), and read the audit log';
  return 'sign in, but not manage API keys, read the audit log or see the members';
}
