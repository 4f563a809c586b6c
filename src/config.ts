import { isIP } from 'node:net';
import { z } from 'zod';
import { loadProductFile, ProductFileError, REFERENCE_PRODUCT, type Product } from './product/product.js';

/** The gateway's port when neither GATEWAY_PORT nor the product file's gateway.port says one. */
const DEFAULT_GATEWAY_PORT = 8080;

/** The most proxies a request may pass through before us; more is a typo. */
const MAX_HOPS = 20;

const TRUST_PROXY_FORMS = 'a hop count (e.g. 1) or a comma-separated list of proxy addresses or CIDR ranges (e.g. 10.0.0.0/8,127.0.0.1)';

/**
 * How the operator says which proxies' X-Forwarded-For to believe: nothing (or `false`, or 0) trusts
 * none; a hop count trusts that many proxies in front of us; a list of addresses and CIDR ranges trusts
 * proxies connecting from them. `true` is refused rather than read as "trust everything": then any client
 * could choose its own address by sending X-Forwarded-For, and with it escape every per-address budget
 * and pass any key's IP allowlist. Returns the value, or why it is refused.
 */
export function parseTrustProxy(raw: string | undefined): { value: number | string[] | false } | { problem: string } {
  const trimmed = (raw ?? '').trim();
  if (trimmed === '' || trimmed === 'false' || trimmed === '0') return { value: false };
  if (/^(true|yes|on|all|\*)$/i.test(trimmed)) {
    return { problem: `"${trimmed}" would believe X-Forwarded-For from any client, which could then choose its own address; give ${TRUST_PROXY_FORMS}` };
  }
  if (/^\d+$/.test(trimmed)) {
    const hops = Number(trimmed);
    return hops <= MAX_HOPS ? { value: hops } : { problem: `a hop count must be at most ${MAX_HOPS}, got ${trimmed}` };
  }
  const entries = trimmed.split(',').map((part) => part.trim()).filter(Boolean);
  const wrong = entries.find((entry) => !isAddressOrRange(entry));
  if (wrong !== undefined) return { problem: `"${wrong.slice(0, 60)}" is not an IP address or CIDR range; give ${TRUST_PROXY_FORMS}` };
  return { value: entries };
}

function isAddressOrRange(entry: string): boolean {
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).max(255).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).max(4096).default('./data'),
  DATABASE_URL: z.string().min(1).max(4096).optional(),
  REDIS_URL: z.string().min(1).max(4096).optional(),
  PRODUCT_FILE: z.string().min(1).max(4096).optional(),
  KEY_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,11}$/, 'KEY_PREFIX must be 1-12 lowercase letters or digits, starting with a letter')
    .default('lk'),
  TRUST_PROXY: z
    .string()
    .max(4096)
    .optional()
    .transform((raw, ctx) => {
      const parsed = parseTrustProxy(raw);
      if ('value' in parsed) return parsed.value;
      ctx.addIssue({ code: 'custom', message: parsed.problem });
      return z.NEVER;
    }),
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  AUDIT_PAYLOAD_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  DEFAULT_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(60),
  DEFAULT_CEILING_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  SESSION_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 90).default(24 * 7),
  COOKIE_SECURE: z.enum(['true', 'false', 'auto']).default('auto'),
  /** Where browsers reach Latchkey (embedded pages' links), when it differs from where the SaaS backend calls it. */
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'PUBLIC_URL must be an http(s) URL, such as https://keys.example.com' })
    .max(2048)
    .refine((value) => !/[?#]/.test(value), 'PUBLIC_URL must not have a query or a fragment')
    .transform((value) => value.replace(/\/+$/, ''))
    .optional(),
  GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** An Ed25519 private key (PKCS #8 PEM) that signs Latchkey-Principal instead of the generated one. */
  GATEWAY_SIGNING_KEY: z.string().min(1).max(4096).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Webhook deliveries may reach private, loopback and link-local addresses (tests, private deployments). */
  EVENTS_ALLOW_PRIVATE_NETWORKS: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
  /** How often each instance looks for due webhook deliveries (ms). */
  EVENTS_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  /** Webhook deliveries one instance makes at once. */
  EVENTS_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(8),
  /** Test hook (test/multi-instance.test.ts): delays this instance's handling of announced key changes. */
  TEST_KEY_CHANGE_DELAY_MS: z.coerce.number().int().min(0).max(900).default(0),
  /** Test hook (test/events-*.test.ts): multiplies the webhook retry delays (0.001: 30 s becomes 30 ms); the 3-day window stays. */
  TEST_EVENTS_RETRY_SCALE: z.coerce.number().positive().max(1).default(1),
  /** Test hook: a webhook delivery's timeout (ms) instead of 10 s; the claim's lease follows it. */
  TEST_EVENTS_TIMEOUT_MS: z.coerce.number().int().min(50).max(10_000).optional(),
});

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  /** The brand part of keys: the product file's key_prefix, else KEY_PREFIX. */
  keyPrefix: string;
  /** The deployment's product (PRODUCT_FILE), or the built-in reference product. */
  product: Product;
  trustProxy: number | string[] | false;
  auditRetentionDays: number;
  auditPayloadDays: number;
  defaultRateLimitPerMinute: number;
  /** A new workspace's ceiling; the operator raises it per workspace with the CLI. */
  defaultCeilingPerMinute: number;
  sessionTtlHours: number;
  cookieSecure: 'true' | 'false' | 'auto';
  /** PUBLIC_URL without a trailing slash; undefined: links use the request's own protocol and host. */
  publicUrl: string | undefined;
  logLevel: string;
  testKeyChangeDelayMs: number;
  /** The gateway's listener (GATEWAY_PORT, else the product file's gateway.port); undefined without a gateway. */
  gatewayPort: number | undefined;
  /** GATEWAY_SIGNING_KEY: a PEM the operator provides; else the key kept in the database signs. */
  gatewaySigningKey: string | undefined;
  events: {
    /** EVENTS_ALLOW_PRIVATE_NETWORKS: off, deliveries to private, loopback, link-local and metadata addresses are refused at connect time. */
    allowPrivateNetworks: boolean;
    pollMs: number;
    concurrency: number;
    /** TEST_EVENTS_RETRY_SCALE (1 outside tests). */
    retryScale: number;
    /** TEST_EVENTS_TIMEOUT_MS; undefined: the 10 s of src/events/safe-fetch.ts. */
    timeoutMs: number | undefined;
  };
}

/** The environment is wrong: main prints its message, one line, and exits; no stack (it is not a bug). */
export class ConfigError extends Error {}

/** Parses the environment once; everything else receives the result, never reads process.env. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    // One line, naming each variable: what an operator reads first in a crash-looping container's log.
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  let product = REFERENCE_PRODUCT;
  try {
    if (e.PRODUCT_FILE !== undefined) product = loadProductFile(e.PRODUCT_FILE);
  } catch (error) {
    if (error instanceof ProductFileError) throw new ConfigError(error.message);
    throw error;
  }
  const gatewayOnly = (['GATEWAY_PORT', 'GATEWAY_SIGNING_KEY'] as const).filter((name) => e[name] !== undefined);
  if (gatewayOnly.length > 0 && !product.gateway) {
    throw new ConfigError(`Invalid configuration: ${gatewayOnly.join(' and ')} ${gatewayOnly.length === 1 ? 'is' : 'are'} set but there is no gateway: add a gateway section to the product file (PRODUCT_FILE)`);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    keyPrefix: product.keyPrefix ?? e.KEY_PREFIX,
    product,
    trustProxy: e.TRUST_PROXY,
    auditRetentionDays: e.AUDIT_RETENTION_DAYS,
    auditPayloadDays: e.AUDIT_PAYLOAD_DAYS,
    defaultRateLimitPerMinute: e.DEFAULT_RATE_LIMIT_PER_MINUTE,
    defaultCeilingPerMinute: e.DEFAULT_CEILING_PER_MINUTE,
    sessionTtlHours: e.SESSION_TTL_HOURS,
    cookieSecure: e.COOKIE_SECURE,
    publicUrl: e.PUBLIC_URL,
    logLevel: e.LOG_LEVEL,
    testKeyChangeDelayMs: e.TEST_KEY_CHANGE_DELAY_MS,
    gatewayPort: product.gateway ? (e.GATEWAY_PORT ?? product.gateway.port ?? DEFAULT_GATEWAY_PORT) : undefined,
    gatewaySigningKey: e.GATEWAY_SIGNING_KEY,
    events: {
      allowPrivateNetworks: e.EVENTS_ALLOW_PRIVATE_NETWORKS,
      pollMs: e.EVENTS_POLL_MS,
      concurrency: e.EVENTS_CONCURRENCY,
      retryScale: e.TEST_EVENTS_RETRY_SCALE,
      timeoutMs: e.TEST_EVENTS_TIMEOUT_MS,
    },
  };
}
