import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { REFERENCE_SCOPES } from './reference-product.js';

/**
 * The deployment's product (PRODUCT.md "The product file"): its name, its key brand, its scope catalog,
 * and optionally a gateway and embedded pages. Without a file, the built-in reference product runs.
 * The schema is the single source: start-time validation, the JSON Schema published for editors
 * (docs/product-file.schema.json, written by `npm run product-schema`) and the types below.
 */

/** `contacts:read`, `knowledge_base:write`, `keys:rotate_self`: lower-case words joined by `:`, no spaces. */
const SCOPE_NAME = /^[a-z0-9][a-z0-9_.-]*(?::[a-z0-9][a-z0-9_.-]*)*$/;

/** The largest catalog a product may have; request bodies bound their scope lists by it. */
export const MAX_SCOPES = 500;

const scopeEntry = z.strictObject({
  scope: z.string().min(1).max(64).regex(SCOPE_NAME, 'a scope is lower-case letters, digits, _ . - in words joined by ":" (e.g. contacts:read), no spaces'),
  group: z.string().min(1).max(60).describe('The heading the scope is listed under in the console'),
  description: z.string().min(1).max(200).describe('What the scope allows, as the console shows it'),
});

const upstream = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  test_url: z.url({ protocol: /^https?$/ }).optional(),
  timeout_ms: z.number().int().min(1).max(600_000).default(30_000),
});

const gatewayRoute = z.strictObject({
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', '*']),
  path: z.string().min(1).max(500).regex(/^\//, 'a route path starts with /'),
  upstream: z.string().min(1).max(60),
  scope: z.string().min(1).max(64).optional(),
  public: z.boolean().optional(),
});

const gateway = z.strictObject({
  port: z.number().int().min(0).max(65535).optional().describe('The gateway listener (GATEWAY_PORT wins; else 8080)'),
  max_body_mb: z.number().min(0.001).max(10_240).default(100).describe('Request bodies larger than this answer 413 payload_too_large (MiB)'),
  sign_every_call: z
    .boolean()
    .default(false)
    .describe('Sign a fresh Latchkey-Principal for every call, with its request_id (about 35 µs of CPU each); by default one token per key and upstream is reused for up to 30 s, without request_id'),
  upstreams: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,59}$/, 'an upstream name is lower-case letters, digits, _ and -'), upstream),
  routes: z.array(gatewayRoute).min(1).max(10_000),
});

export const productFileSchema = z
  .strictObject({
    $schema: z.string().optional().describe('The JSON Schema this file follows (for editors)'),
    name: z.string().min(1).max(80).describe('Shown in the console and on embedded pages'),
    key_prefix: z
      .string()
      .regex(/^[a-z][a-z0-9]{0,11}$/, 'key_prefix must be 1-12 lowercase letters or digits, starting with a letter')
      .optional()
      .describe('The brand part of keys (else KEY_PREFIX)'),
    accent_color: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, 'accent_color is a #rrggbb colour')
      .optional(),
    scopes: z.array(scopeEntry).min(1, 'scopes must list at least one scope').max(MAX_SCOPES).describe('The catalog keys may be granted'),
    gateway: gateway.optional(),
    embed: z
      .strictObject({
        allowed_origins: z
          .array(
            z
              .url({ protocol: /^https?$/ })
              .refine((value) => `${new URL(value).origin}/` === new URL(value).href, 'an allowed origin is scheme://host[:port], with no path, query or fragment')
              .transform((value) => new URL(value).origin),
          )
          .max(50)
          .default([])
          .describe('Pages allowed to frame the embedded key management (CSP frame-ancestors)'),
      })
      .optional(),
  })
  .superRefine((product, ctx) => {
    const seen = new Map<string, number>();
    product.scopes.forEach((entry, index) => {
      const first = seen.get(entry.scope);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['scopes', index, 'scope'], message: `${entry.scope} is listed twice (first at scopes.${first})` });
      }
      seen.set(entry.scope, index);
    });
    if (!product.gateway) return;
    product.gateway.routes.forEach((route, index) => {
      if (!(route.upstream in product.gateway!.upstreams)) {
        ctx.addIssue({ code: 'custom', path: ['gateway', 'routes', index, 'upstream'], message: `no upstream is named ${route.upstream}` });
      }
      if (route.public && route.scope !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['gateway', 'routes', index, 'scope'], message: 'a public route takes no scope' });
      }
      if (!route.public && route.scope !== undefined && !seen.has(route.scope)) {
        ctx.addIssue({ code: 'custom', path: ['gateway', 'routes', index, 'scope'], message: `${route.scope} is not in scopes` });
      }
    });
  });

export type ProductFile = z.infer<typeof productFileSchema>;
export type ScopeEntry = z.infer<typeof scopeEntry>;

/** The running product: the file's content, or the reference product's, with its catalog ready to look up. */
export interface Product {
  name: string;
  keyPrefix: string | undefined;
  accentColor: string | undefined;
  scopes: readonly ScopeEntry[];
  /** True for the built-in reference product, which also serves its own resources under /api/v1. */
  reference: boolean;
  gateway: ProductFile['gateway'];
  embed: { allowedOrigins: string[] };
  isScope(scope: string): boolean;
}

export function productOf(file: ProductFile, reference = false): Product {
  const known = new Set(file.scopes.map((entry) => entry.scope));
  return Object.freeze({
    name: file.name,
    keyPrefix: file.key_prefix,
    accentColor: file.accent_color,
    scopes: Object.freeze(file.scopes.map((entry) => Object.freeze({ ...entry }))),
    reference,
    gateway: file.gateway,
    embed: { allowedOrigins: file.embed?.allowed_origins ?? [] },
    isScope: (scope: string) => known.has(scope),
  });
}

/** The built-in product: the seeds' resources and scopes (src/api), used when no PRODUCT_FILE is given. */
export const REFERENCE_PRODUCT: Product = productOf({ name: 'Latchkey', scopes: [...REFERENCE_SCOPES] }, true);

/** The product file is wrong: start stops with a message naming the field. */
export class ProductFileError extends Error {}

/** Reads and validates a product file (JSON, or YAML by its .yaml/.yml extension). */
export function loadProductFile(path: string): Product {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ProductFileError(`PRODUCT_FILE ${path} cannot be read: ${(error as Error).message}`);
  }
  let data: unknown;
  const yaml = ['.yaml', '.yml'].includes(extname(path).toLowerCase());
  try {
    data = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new ProductFileError(`PRODUCT_FILE ${path} is not valid ${yaml ? 'YAML' : 'JSON'}: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = productFileSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(file)'}: ${issue.message}`);
    throw new ProductFileError(`PRODUCT_FILE ${path} is invalid: ${problems.join('; ')}`);
  }
  return productOf(parsed.data);
}
