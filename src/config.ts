import { z } from 'zod';

/** How the operator says which proxies' X-Forwarded-For to believe: a hop count or a list of CIDRs. */
function parseTrustProxy(raw: string | undefined): number | string[] | false {
  if (raw === undefined || raw.trim() === '') return false;
  const trimmed = raw.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  return trimmed.split(',').map((part) => part.trim()).filter(Boolean);
}

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).max(255).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).max(4096).default('./data'),
  DATABASE_URL: z.string().min(1).max(4096).optional(),
  REDIS_URL: z.string().min(1).max(4096).optional(),
  KEY_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,11}$/, 'KEY_PREFIX must be 1-12 lowercase letters or digits, starting with a letter')
    .default('lk'),
  TRUST_PROXY: z.string().max(4096).optional(),
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  AUDIT_PAYLOAD_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  DEFAULT_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(60),
  DEFAULT_CEILING_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  SESSION_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 90).default(24 * 7),
  COOKIE_SECURE: z.enum(['true', 'false', 'auto']).default('auto'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Test hook (test/multi-instance.test.ts): delays this instance's handling of announced key changes. */
  TEST_KEY_CHANGE_DELAY_MS: z.coerce.number().int().min(0).max(900).default(0),
});

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  keyPrefix: string;
  trustProxy: number | string[] | false;
  auditRetentionDays: number;
  auditPayloadDays: number;
  defaultRateLimitPerMinute: number;
  /** A new workspace's ceiling; the operator raises it per workspace with the CLI. */
  defaultCeilingPerMinute: number;
  sessionTtlHours: number;
  cookieSecure: 'true' | 'false' | 'auto';
  logLevel: string;
  testKeyChangeDelayMs: number;
}

export class ConfigError extends Error {}

/** Parses the environment once; everything else receives the result, never reads process.env. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    keyPrefix: e.KEY_PREFIX,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    auditRetentionDays: e.AUDIT_RETENTION_DAYS,
    auditPayloadDays: e.AUDIT_PAYLOAD_DAYS,
    defaultRateLimitPerMinute: e.DEFAULT_RATE_LIMIT_PER_MINUTE,
    defaultCeilingPerMinute: e.DEFAULT_CEILING_PER_MINUTE,
    sessionTtlHours: e.SESSION_TTL_HOURS,
    cookieSecure: e.COOKIE_SECURE,
    logLevel: e.LOG_LEVEL,
    testKeyChangeDelayMs: e.TEST_KEY_CHANGE_DELAY_MS,
  };
}
