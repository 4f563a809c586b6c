import { z } from 'zod';

/**
 * Text a person typed: bounded, well-formed Unicode (no lone surrogates) and no control characters,
 * which PostgreSQL refuses (NUL) or which hide in logs and screens.
 */
export function text(max: number) {
  return z
    .string()
    .max(max)
    .refine((value) => value.isWellFormed() && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(value), {
      message: 'must not contain control characters or invalid Unicode',
    });
}

/** Bounded building blocks for request schemas: no unbounded string or list reaches a service. */
export const displayName = z.string().trim().min(1).max(100).pipe(text(100));
export const email = z.string().trim().max(254).pipe(z.email());
export const password = z.string().min(10).max(200);
export const role = z.enum(['owner', 'admin', 'member']);
/** Path ids: bounded here; their shape is checked before any lookup by src/http/path-ids.ts (404 when wrong). */
export const pathId = text(200).pipe(z.string().min(1));
export const workspaceParams = z.object({ workspace_id: pathId });
export const cursor = text(64).optional();
export const listLimit = z.coerce.number().int().min(1).max(100).default(20);

export function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}
