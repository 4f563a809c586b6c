/**
 * Our own accounts and users, as a stub: one customer account with two people, and no passwords. In a real
 * app they come from your user database; what matters here is what each may do with API keys.
 */

/** What an embedded session may do (Latchkey's embed capabilities). */
export type Capability = 'keys:read' | 'keys:write' | 'keys:rotate' | 'keys:revoke' | 'usage:read' | 'audit:read';

export interface Account {
  /** Our own id for the customer: the external id of its workspace in Latchkey. */
  id: string;
  name: string;
}

export interface User {
  id: string;
  name: string;
  email: string;
  role: 'admin' | 'viewer';
  account: Account;
}

export const NORTHWIND: Account = { id: 'acct-northwind', name: 'Northwind Traders' };

export const USERS: readonly User[] = [
  { id: 'u-ada', name: 'Ada Lovelace', email: 'ada@northwind.example', role: 'admin', account: NORTHWIND },
  { id: 'u-grace', name: 'Grace Hopper', email: 'grace@northwind.example', role: 'viewer', account: NORTHWIND },
];

export function findUser(id: string | undefined): User | undefined {
  return USERS.find((user) => user.id === id);
}

/** Our roles, translated into what Latchkey lets the embedded page do. */
export function capabilitiesOf(user: User): Capability[] {
  if (user.role === 'admin') return ['keys:read', 'keys:write', 'keys:rotate', 'keys:revoke', 'usage:read', 'audit:read'];
  return ['keys:read', 'usage:read'];
}

export const ROLE_LABELS: Record<User['role'], string> = { admin: 'Admin', viewer: 'Viewer (read only)' };
