import { createHash } from 'node:crypto';

/**
 * JSON with object keys in sorted order at every depth: the same value always serializes the same way,
 * whatever order a client wrote its fields in. Array order is kept: it carries meaning.
 */
export function canonicalJson(value: unknown, depth = 0): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  // A body may nest arrays thousands deep within its size limit; recursing that far would overflow the stack.
  if (depth >= MAX_DEPTH) return '"[nested too deep]"';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item, depth + 1)).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key], depth + 1)}`);
  return `{${entries.join(',')}}`;
}

const MAX_DEPTH = 64;

/** A query string as a canonical object: parameters by name, each name's values in the order sent. */
export function queryObject(search: string): Record<string, string[]> {
  // No prototype: a parameter named `constructor` or `__proto__` is a name like any other.
  const query: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [name, value] of new URLSearchParams(search)) (query[name] ??= []).push(value);
  return query;
}

export interface Arguments {
  method: string;
  path: string;
  query: Record<string, string[]>;
  body: unknown;
}

/**
 * SHA-256 over the canonical form of method, path, query and body: the same request always gives the
 * same hash, any change to any of them another, so repeated calls (a leaked key replaying one request)
 * show up together in the log even after their payloads are gone.
 */
export function argumentHash(args: Arguments): string {
  const canonical = canonicalJson({ method: args.method.toUpperCase(), path: args.path, query: args.query, body: args.body ?? null });
  return createHash('sha256').update(canonical).digest('hex');
}
