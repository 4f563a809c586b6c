import type { Permission } from '../service-keys/permissions.js';

/** What an embedded key-management session may do (PRODUCT.md "Embedded key management"). */
export const CAPABILITIES = ['keys:read', 'keys:write', 'keys:rotate', 'keys:revoke', 'usage:read', 'audit:read'] as const;

export type Capability = (typeof CAPABILITIES)[number];

/**
 * The service-key permission each capability needs: a session never does more than the key that minted it
 * could do itself. Rotating and revoking are writes to keys; usage is read from the audit log.
 */
export const PERMISSION_FOR: Readonly<Record<Capability, Permission>> = {
  'keys:read': 'keys:read',
  'keys:write': 'keys:write',
  'keys:rotate': 'keys:write',
  'keys:revoke': 'keys:write',
  'usage:read': 'audit:read',
  'audit:read': 'audit:read',
};

/** The capabilities a service key with `permissions` can hand on, in `CAPABILITIES`' order. */
export function capabilitiesWithin(capabilities: readonly string[], permissions: ReadonlySet<Permission>): Capability[] {
  return CAPABILITIES.filter((capability) => capabilities.includes(capability) && permissions.has(PERMISSION_FOR[capability]));
}
