import { AppError } from './errors.js';

/** One schema issue as fastify-type-provider-zod hands it over (zod's issue, path as instancePath). */
interface SchemaIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

const TYPE_NAMES: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  array: 'a list',
  object: 'an object',
  boolean: 'true or false',
};

/** Zod's own messages start like this; any other message was written for the field and is kept. */
const ZOD_DEFAULT_MESSAGE = /^(Too (small|big)|Invalid|Expected|Unrecognized)/;

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
  if (issue.message && !ZOD_DEFAULT_MESSAGE.test(issue.message) && issue.keyword !== 'custom') return issue.message;
  const unit = ORIGIN_UNITS[String(p.origin)] ?? '';
  switch (issue.keyword) {
    case 'invalid_type':
      if (issue.message?.includes('received undefined')) return `${param} is required.`;
      return `${param} must be ${TYPE_NAMES[String(p.expected)] ?? `a ${String(p.expected)}`}.`;
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
      return issue.message ? `${param} ${issue.message}.` : `${param} is invalid.`;
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
