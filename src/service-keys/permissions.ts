/** What a service key may be allowed to do (PRODUCT.md "Service keys"). */
export const PERMISSIONS = [
  'workspaces:read',
  'workspaces:write',
  'keys:read',
  'keys:write',
  'keys:verify',
  'audit:read',
  'embed:create',
  'events:manage',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

const KNOWN = new Set<string>(PERMISSIONS);

export function isPermission(value: string): value is Permission {
  return KNOWN.has(value);
}
