import { z } from 'zod';
import { redactSecrets } from '../audit/redact.js';

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

/**
 * A JSON object a client stores with us (a workspace's metadata, a key's meta): at most `maxBytes` as
 * UTF-8 JSON, and only text PostgreSQL's jsonb can hold (no NUL, no lone surrogate, which would fail the
 * write with a database error). Measured first, so the walk below never meets a deeply nested giant.
 */
export function jsonObject(maxBytes: number) {
  return z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
    let json: string;
    try {
      json = JSON.stringify(value);
    } catch {
      json = '';
    }
    if (json === '' || Buffer.byteLength(json) > maxBytes) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${maxBytes} bytes as JSON` });
      return;
    }
    if (!storableJson(value)) ctx.addIssue({ code: 'custom', message: 'must not contain NUL characters or invalid Unicode' });
    else if (holdsKey(json)) ctx.addIssue({ code: 'custom', message: 'must not hold an API or service key: it is stored and shown as it is' });
  });
}

/** Keys are stored only as hashes; one pasted into stored text would undo that. */
export function holdsKey(text: string): boolean {
  return redactSecrets(text) !== text;
}

/** Only text PostgreSQL's jsonb can hold: no NUL, no lone surrogate (either fails the write with a database error). */
export function storableJson(value: unknown): boolean {
  if (typeof value === 'string') return value.isWellFormed() && !value.includes('\u0000');
  if (Array.isArray(value)) return value.every(storableJson);
  if (value !== null && typeof value === 'object') return Object.entries(value).every(([k, v]) => storableJson(k) && storableJson(v));
  return true;
}
