import { AppError } from './errors.js';

/** One schema issue as fastify-type-provider-zod hands it over (zod's issue, path as instancePath). */
interface SchemaIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

const ORIGIN_UNITS: Record<string, string> = { string: ' characters', array: ' items', set: ' items' };

function paramOf(issue: SchemaIssue, context: string | undefined): string {
  const path = issue.instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
  if (issue.keyword === 'unrecognized_keys') {
    const keys = (issue.params.keys as string[] | undefined) ?? [];
    return [path, keys[0]].filter(Boolean).join('.');
  }
  return path || (context ?? 'body');
}

/** Turns zod's issue into a sentence a person understands, naming the field. */
function sentence(issue: SchemaIssue, param: string): string {
  const p = issue.params;
  const unit = ORIGIN_UNITS[String(p.origin)] ?? '';
  switch (issue.keyword) {
    case 'invalid_type':
      if (issue.message?.includes('received undefined')) return `${param} is required.`;
      return `${param} must be ${p.expected === 'array' || p.expected === 'object' ? 'an' : 'a'} ${String(p.expected)}.`;
    case 'too_big':
      return `${param} must be at most ${String(p.maximum)}${unit}.`;
    case 'too_small':
      if (p.origin === 'string' && p.minimum === 1) return `${param} must not be empty.`;
      return `${param} must be at least ${String(p.minimum)}${unit}.`;
    case 'invalid_value': {
      const values = (p.values as unknown[] | undefined) ?? [];
      return `${param} must be one of: ${values.map(String).join(', ')}.`;
    }
    case 'unrecognized_keys':
      return `Unknown field: ${param}.`;
    case 'invalid_format':
      return `${param} is not a valid ${String(p.format)}.`;
    case 'custom':
      return issue.message ?? `${param} is invalid.`;
    default:
      return `${param} is invalid${issue.message ? `: ${issue.message}` : ''}.`;
  }
}

export function validationError(issues: SchemaIssue[], context: string | undefined): AppError {
  const first = issues[0];
  if (!first) return new AppError('invalid_request', 'The request is invalid.');
  const param = paramOf(first, context === 'querystring' ? undefined : context);
  return new AppError('invalid_request', sentence(first, param), { param });
}
