import { Command, CommanderError } from 'commander';
import type { z } from 'zod';
import { createAccountsRepo } from './accounts/accounts-repo.js';
import { createAccountsService, normalizeEmail } from './accounts/accounts-service.js';
import { describeSeed, seedDemoData } from './api/demo-data.js';
import type { ActionContext } from './audit/management-log.js';
import { KEY_CHANGES_CHANNEL } from './auth/key-change-bus.js';
import { loadConfig, type Config } from './config.js';
import { openDatabase, type Db } from './db/client.js';
import { migrateToLatest } from './db/migrate.js';
import { rotateSigningKey } from './gateway/signing-keys.js';
import { AppError } from './http/errors.js';
import { displayName, email, password, pathId, role } from './http/schemas.js';
import { ceilingSchema, MAX_RATE_LIMIT } from './keys/key-settings.js';
import { createKeysRepo } from './keys/keys-repo.js';
import { createKeysService, type KeysService } from './keys/keys-service.js';
import { connectRedis } from './redis.js';
import { isPermission, PERMISSIONS, type Permission } from './service-keys/permissions.js';
import { createServiceKeys } from './service-keys/service-keys.js';

/** The operator's tools: they act as the installation itself, so the log names the CLI as the source. */
const CLI_CONTEXT: ActionContext = { actor: null, sourceIp: 'cli', userAgent: 'latchkey-cli', requestId: 'cli' };

/** Exit codes: 2 for input the command refuses (as commander's own usage errors), 1 for a failure while running. */
const EXIT_USAGE = 2;
const EXIT_FAILED = 1;

/** Input the command refuses before (or instead of) changing anything: one line on stderr, exit code 2. */
class UsageError extends Error {}

/**
 * Reads one option with the schema the API uses for the same field, so the CLI accepts exactly what the
 * API would and never hands the database a value it refuses with a raw error.
 */
function read<T>(schema: z.ZodType<T>, value: unknown, flag: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new UsageError(issue ? `${flag} ${describeIssue(issue)}` : `${flag} is invalid`);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_big':
      return `must be at most ${String(issue.maximum)}${issue.origin === 'string' ? ' characters' : ''}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}${issue.origin === 'string' ? ' characters' : ''}`;
    case 'invalid_type':
      return issue.expected === 'int' || issue.expected === 'number' ? 'must be a whole number' : `must be a ${issue.expected}`;
    case 'invalid_format':
      return `is not a valid ${issue.format === 'email' ? 'email address' : issue.format}`;
    case 'invalid_value':
      return `must be one of: ${issue.values.map(String).join(', ')}`;
    default:
      return issue.message;
  }
}

/** Command-line numbers arrive as text; a plain decimal becomes a number for the schema, anything else stays text and is refused. */
function wholeNumber(text: string | undefined): unknown {
  return text !== undefined && /^-?\d{1,20}$/.test(text) ? Number(text) : text;
}

interface Installation {
  db: Db;
  config: Config;
  accounts: ReturnType<typeof createAccountsService>;
}

async function withDb<T>(fn: (installation: Installation) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const { db } = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrateToLatest(db);
    const accounts = createAccountsService({
      db,
      repo: createAccountsRepo(),
      sessionTtlHours: config.sessionTtlHours,
      defaultCeilingPerMinute: config.defaultCeilingPerMinute,
      now: () => new Date(),
    });
    return await fn({ db, config, accounts });
  } finally {
    await db.destroy();
  }
}

/**
 * The keys service as running instances have it. A change to a key is announced on Redis, when the
 * installation has one, so that every instance's cache drops the key before its next request; with the
 * embedded database no server runs beside the CLI, and a server without Redis starts with an empty cache.
 */
async function withKeys<T>(installation: Installation, fn: (keys: KeysService) => Promise<T>): Promise<T> {
  const redis = installation.config.redisUrl ? await connectRedis(installation.config.redisUrl) : null;
  try {
    const keys = createKeysService({
      db: installation.db,
      onKeyChanged: async (keyId) => {
        await redis?.commands.publish(KEY_CHANGES_CHANNEL, keyId);
      },
      repo: createKeysRepo(),
      workspaces: createAccountsRepo(),
      keyPrefix: installation.config.keyPrefix,
      catalog: installation.config.product,
      defaultRateLimitPerMinute: installation.config.defaultRateLimitPerMinute,
      now: () => new Date(),
    });
    return await fn(keys);
  } finally {
    await redis?.close();
  }
}

async function requireWorkspace(db: Db, id: string) {
  const workspace = await createAccountsRepo().findWorkspace(db, id);
  if (!workspace) throw new UsageError(`no workspace has the id ${id}`);
  return workspace;
}

function readPassword(option: string | undefined): string {
  const given = option ?? process.env.LATCHKEY_PASSWORD;
  if (!given) throw new UsageError('give --password or set LATCHKEY_PASSWORD (it stays out of your shell history)');
  return read(password, given, option === undefined ? 'LATCHKEY_PASSWORD' : '--password');
}

function describeLimit(limit: { per_minute: number | null; per_hour: number | null }): string {
  return [limit.per_minute === null ? null : `${limit.per_minute}/min`, limit.per_hour === null ? null : `${limit.per_hour}/hour`].filter(Boolean).join(' + ');
}

const program = new Command('latchkey').description('Operator commands for a Latchkey installation (DATABASE_URL or DATA_DIR select it).');
// Commander's own refusals (a missing or unknown option) come back here as errors, so every refusal exits alike.
program.exitOverride();

program
  .command('create-user')
  .description('create a user and add them to a workspace with a role')
  .requiredOption('--email <email>')
  .requiredOption('--workspace <id>', 'workspace id (ws_…)')
  .option('--role <role>', 'owner, admin or member', 'member')
  .option('--password <password>', 'or set LATCHKEY_PASSWORD')
  .action(async (options: { email: string; workspace: string; role: string; password?: string }) => {
    const input = {
      email: read(email, options.email, '--email'),
      role: read(role, options.role, '--role'),
      password: readPassword(options.password),
    };
    const workspaceId = read(pathId, options.workspace, '--workspace');
    const member = await withDb(async ({ db, accounts }) => {
      await requireWorkspace(db, workspaceId);
      return accounts.addMember(workspaceId, 'owner', input, CLI_CONTEXT);
    });
    process.stdout.write(`${member.email} (${member.user_id}) is now ${member.role} of ${workspaceId}\n`);
  });

program
  .command('set-role')
  .description("change a member's role in a workspace")
  .requiredOption('--email <email>')
  .requiredOption('--workspace <id>')
  .requiredOption('--role <role>', 'owner, admin or member')
  .action(async (options: { email: string; workspace: string; role: string }) => {
    const address = read(email, options.email, '--email');
    const newRole = read(role, options.role, '--role');
    const workspaceId = read(pathId, options.workspace, '--workspace');
    await withDb(async ({ db, accounts }) => {
      await requireWorkspace(db, workspaceId);
      const user = await createAccountsRepo().findUserByEmail(db, normalizeEmail(address));
      if (!user) throw new UsageError(`no user has the email ${address}`);
      await accounts.changeRole(workspaceId, 'owner', user.id, newRole, CLI_CONTEXT);
    });
    process.stdout.write(`${address} is now ${newRole} of ${workspaceId}\n`);
  });

program
  .command('set-ceiling')
  .description("set a workspace's rate-limit ceiling: the highest limit its keys may have; keys above a lowered ceiling are brought within it")
  .requiredOption('--workspace <id>')
  .requiredOption('--per-minute <n>', 'requests per minute')
  .option('--per-hour <n>', 'requests per hour (default: 60 × per minute)')
  .action(async (options: { workspace: string; perMinute: string; perHour?: string }) => {
    const workspaceId = read(pathId, options.workspace, '--workspace');
    const perMinute = wholeNumber(options.perMinute);
    const perHour = options.perHour === undefined && typeof perMinute === 'number' ? Math.min(perMinute * 60, MAX_RATE_LIMIT) : wholeNumber(options.perHour);
    const result = ceilingSchema.safeParse({ ceiling_per_minute: perMinute, ceiling_per_hour: perHour });
    if (!result.success) {
      const issue = result.error.issues[0];
      const flag = issue?.path[0] === 'ceiling_per_hour' ? '--per-hour' : '--per-minute';
      throw new UsageError(`${flag} ${issue ? describeIssue(issue) : 'is invalid'}`);
    }
    const change = await withDb(async (installation) => {
      await requireWorkspace(installation.db, workspaceId);
      return withKeys(installation, (keys) => keys.setCeiling(workspaceId, result.data, CLI_CONTEXT));
    });
    const { ceiling, fitted } = change;
    process.stdout.write(`${workspaceId}: ceiling ${ceiling.ceiling_per_minute}/min, ${ceiling.ceiling_per_hour}/hour; ${fitted.length} key(s) brought within it\n`);
    for (const key of fitted) process.stdout.write(`  ${key.id}\t${key.name}\t${describeLimit(key.from)} -> ${describeLimit(key.to)}\n`);
  });

program
  .command('list-workspaces')
  .description('list workspaces with their ceilings')
  .action(async () => {
    const rows = await withDb(({ db }) => db.selectFrom('workspaces').selectAll().orderBy('id').execute());
    for (const w of rows) process.stdout.write(`${w.id}\t${w.name}\t${w.ceiling_per_minute}/min\t${w.ceiling_per_hour}/hour\n`);
  });

program
  .command('demo-data')
  .description("fill a workspace's live and test views with demo conversations, contacts, tickets, … (skips a view that has them)")
  .requiredOption('--workspace <id>', 'workspace id (ws_…)')
  .action(async (options: { workspace: string }) => {
    const workspaceId = read(pathId, options.workspace, '--workspace');
    const result = await withDb(async ({ db }) => seedDemoData(db, (await requireWorkspace(db, workspaceId)).id, new Date()));
    process.stdout.write(`${describeSeed(workspaceId, result)}\n`);
  });

program
  .command('create-service-key')
  .description("create a service key, the SaaS backend's credential for the management API; its secret is printed once")
  .requiredOption('--name <name>', 'what the key is for (e.g. billing-backend)')
  .requiredOption('--permissions <list>', `comma-separated: ${PERMISSIONS.join(', ')}`)
  .option('--workspace <ids...>', 'limit the key to these workspaces (ws_…; repeat or separate by commas); default: every workspace')
  .action(async (options: { name: string; permissions: string; workspace?: string[] }) => {
    const name = read(displayName, options.name, '--name');
    const permissions = options.permissions.split(',').map((p) => p.trim()).filter(Boolean);
    const unknown = permissions.find((p) => !isPermission(p));
    if (unknown !== undefined) throw new UsageError(`--permissions: ${JSON.stringify(unknown.slice(0, 60))} is not a permission; give some of: ${PERMISSIONS.join(', ')}`);
    if (permissions.length === 0) throw new UsageError('--permissions must name at least one permission');
    const workspaceIds = options.workspace?.flatMap((w) => w.split(',')).map((w) => w.trim()).filter(Boolean) ?? null;
    const created = await withDb(async ({ db, config }) => {
      for (const id of workspaceIds ?? []) await requireWorkspace(db, read(pathId, id, '--workspace'));
      return createServiceKeys({ db, keyPrefix: config.keyPrefix }).create({ name, permissions: permissions as Permission[], workspaceIds });
    });
    const { serviceKey, secret } = created;
    const reach = serviceKey.workspace_ids === null ? 'every workspace' : serviceKey.workspace_ids.join(', ');
    process.stderr.write(`${serviceKey.id} (${serviceKey.name}): ${serviceKey.permissions.join(', ')}; ${reach}\nThe secret is shown once; store it now:\n`);
    process.stdout.write(`${secret}\n`);
  });

program
  .command('list-service-keys')
  .description('list service keys (never their secrets)')
  .action(async () => {
    const rows = await withDb(({ db, config }) => createServiceKeys({ db, keyPrefix: config.keyPrefix }).list());
    for (const k of rows) {
      const state = k.revoked_at ? `revoked ${k.revoked_at.toISOString()}` : 'active';
      const reach = k.workspace_ids === null ? 'all workspaces' : k.workspace_ids.join(',');
      const used = k.last_used_at ? `last used ${k.last_used_at.toISOString()}` : 'never used';
      process.stdout.write(`${k.id}\t${k.name}\t${k.prefix}\t${k.permissions.join(',')}\t${reach}\t${state}\t${used}\n`);
    }
  });

program
  .command('revoke-service-key')
  .description('revoke a service key: refused from then on (running instances within 5 s)')
  .argument('<id>', 'service key id (svk_…)')
  .action(async (id: string) => {
    const keyId = read(pathId, id, 'id');
    const revoked = await withDb(({ db, config }) => createServiceKeys({ db, keyPrefix: config.keyPrefix }).revoke(keyId));
    if (!revoked) throw new UsageError(`no active service key has the id ${keyId}`);
    process.stdout.write(`${keyId} revoked\n`);
  });

program
  .command('rotate-gateway-signing-key')
  .description('make a new key to sign Latchkey-Principal: published in /.well-known/jwks.json at once, signing 10 minutes later')
  .action(async () => {
    const rotation = await withDb(async ({ db, config }) => {
      if (config.gatewaySigningKey !== undefined) {
        throw new UsageError('GATEWAY_SIGNING_KEY is set: that key signs, not the ones kept in the database; to rotate it, give the variable a new key');
      }
      return rotateSigningKey(db, new Date());
    });
    process.stdout.write(`new gateway signing key ${rotation.kid}: published now (instances load it within a minute), signs from ${rotation.signsFrom.toISOString()}\n`);
    for (const old of rotation.retired) process.stdout.write(`  ${old.kid} stays published until ${old.retiredAt.toISOString()}\n`);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  // Commander has already written its own line (or the help text, exit code 0).
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
  // A service's refusal (a conflict, the last Owner) is about the input too; anything else is a failure.
  if (error instanceof UsageError || (error instanceof AppError && error.status < 500)) {
    process.stderr.write(`latchkey: ${error.message}\n`);
    process.exit(EXIT_USAGE);
  }
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  process.stderr.write(`latchkey: ${program.args[0] ?? 'command'} failed: ${message}\n`);
  process.exit(EXIT_FAILED);
});
