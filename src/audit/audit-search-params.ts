// The query parameters of the audit and management log routes, and their translation into filters.
import { z } from 'zod';
import { pageQuery } from '../http/pagination.js';
import { email, text } from '../http/schemas.js';
import type { AuditEventFilter, ManagementEventFilter } from './audit-search-repo.js';

const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;

/**
 * An ISO 8601 day (midnight UTC) or instant with its offset. An instant without one would be read in the
 * server's time zone, so it is refused; so is a day that does not exist (Date.parse rolls 02-31 into March).
 */
export function parseTimestamp(value: string): Date | null {
  const match = ISO_TIMESTAMP.exec(value);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const midnight = new Date(Date.UTC(year, month - 1, day));
  if (midnight.getUTCFullYear() !== year || midnight.getUTCMonth() !== month - 1 || midnight.getUTCDate() !== day) return null;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : at;
}

const timestamp = text(40).transform((value, ctx) => {
  const at = parseTimestamp(value);
  if (at) return at;
  ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time with its offset, such as 2026-05-01T09:30:00Z, or a day, such as 2026-05-01' });
  return z.NEVER;
});

/** An exact value to match: bounded, and never empty (an empty filter would silently match nothing). */
const exact = (max: number) => text(max).pipe(z.string().min(1));

/** `429` is one code; `4xx` is the class 400–499. */
const status = z
  .string()
  .max(3)
  .regex(/^[1-5](\d\d|xx)$/i, 'status must be a code such as 429 or a class such as 4xx.')
  .transform((value) => {
    const lower = value.toLowerCase();
    if (!lower.endsWith('xx')) return { min: Number(value), max: Number(value) };
    const hundreds = Number(lower[0]) * 100;
    return { min: hundreds, max: hundreds + 99 };
  });

const method = z
  .string()
  .max(10)
  .transform((value) => value.toUpperCase())
  .pipe(z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']));

/**
 * The filters that the search and the export share. Unknown parameters are refused rather than ignored:
 * a mistyped filter (`status_code=500`) must not quietly answer with every event of the workspace.
 */
const eventFilters = {
  key_id: exact(64).optional(),
  // An exact route pattern, or with a trailing `*` a prefix of the route pattern or of the path.
  route: exact(300).optional(),
  method: method.optional(),
  status: status.optional(),
  error_code: exact(64).optional(),
  source_ip: exact(64).optional(),
  from: timestamp.optional(),
  to: timestamp.optional(),
};

export const searchQuery = z.strictObject({ ...pageQuery.shape, ...eventFilters });

export const exportQuery = z.strictObject({
  format: z.enum(['ndjson', 'csv']).default('ndjson'),
  max_rows: z.coerce.number().int().min(1).max(10_000_000).optional(),
  ...eventFilters,
});

export const managementQuery = z.strictObject({
  ...pageQuery.shape,
  action: exact(64).optional(),
  actor_user_id: exact(64).optional(),
  actor_email: email.optional(),
  target_id: exact(200).optional(),
  from: timestamp.optional(),
  to: timestamp.optional(),
});

type EventFilterQuery = Partial<{ [K in keyof typeof eventFilters]: z.output<(typeof eventFilters)[K]> }>;

export function eventFilterOf(query: EventFilterQuery): AuditEventFilter {
  const prefix = query.route?.endsWith('*') ?? false;
  return {
    keyId: query.key_id,
    route: prefix ? query.route?.slice(0, -1) : query.route,
    routePrefix: prefix,
    method: query.method,
    status: query.status,
    errorCode: query.error_code,
    sourceIp: query.source_ip,
    from: query.from,
    to: query.to,
  };
}

export function managementFilterOf(query: z.output<typeof managementQuery>): ManagementEventFilter {
  return {
    action: query.action,
    actorUserId: query.actor_user_id,
    actorEmail: query.actor_email?.toLowerCase(),
    targetId: query.target_id,
    from: query.from,
    to: query.to,
  };
}
