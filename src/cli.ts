import { Command, InvalidArgumentError } from 'commander';
import { createAccountsRepo } from './accounts/accounts-repo.js';
import { createAccountsService, normalizeEmail } from './accounts/accounts-service.js';
import { describeSeed, seedDemoData } from './api/demo-data.js';
import { recordManagementEvent, type ActionContext } from './audit/management-log.js';
import { loadConfig } from './config.js';
import { openDatabase, type Db } from './db/client.js';
import { migrateToLatest } from './db/migrate.js';
import type { Role } from './db/schema.js';
import { AppError } from './http/errors.js';

/** The operator's tools: they act as the installation itself, so the log names the CLI as the source. */
const CLI_CONTEXT: ActionContext = { actor: null, sourceIp: 'cli', userAgent: 'latchkey-cli', requestId: 'cli' };

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number above 0');
  return n;
}

function roleArg(value: string): Role {
  if (value !== 'owner' && value !== 'admin' && value !== 'member') throw new InvalidArgumentError('must be owner, admin or member');
  return value;
}

async function withDb<T>(fn: (db: Db, accounts: ReturnType<typeof createAccountsService>) => Promise<T>): Promise<T> {
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
    return await fn(db, accounts);
  } finally {
    await db.destroy();
  }
}

async function readPassword(option: string | undefined): Promise<string> {
  if (option !== undefined) return option;
  const fromEnv = process.env.LATCHKEY_PASSWORD;
  if (fromEnv) return fromEnv;
  throw new InvalidArgumentError('give --password or set LATCHKEY_PASSWORD (it stays out of your shell history)');
}

const program = new Command('latchkey').description('Operator commands for a Latchkey installation (DATABASE_URL or DATA_DIR select it).');

program
  .command('create-user')
  .description('create a user and add them to a workspace with a role')
  .requiredOption('--email <email>')
  .requiredOption('--workspace <id>', 'workspace id (ws_…)')
  .option('--role <role>', 'owner, admin or member', roleArg, 'member')
  .option('--password <password>', 'or set LATCHKEY_PASSWORD')
  .action(async (options: { email: string; workspace: string; role: Role; password?: string }) => {
    const password = await readPassword(options.password);
    if (password.length < 10) throw new InvalidArgumentError('the password needs at least 10 characters');
    const member = await withDb((_db, accounts) =>
      accounts.addMember(options.workspace, 'owner', { email: options.email, password, role: options.role }, CLI_CONTEXT),
    );
    process.stdout.write(`${member.email} (${member.user_id}) is now ${member.role} of ${options.workspace}\n`);
  });

program
  .command('set-role')
  .description("change a member's role in a workspace")
  .requiredOption('--email <email>')
  .requiredOption('--workspace <id>')
  .requiredOption('--role <role>', 'owner, admin or member', roleArg)
  .action(async (options: { email: string; workspace: string; role: Role }) => {
    await withDb(async (db, accounts) => {
      const user = await createAccountsRepo().findUserByEmail(db, normalizeEmail(options.email));
      if (!user) throw new InvalidArgumentError(`no user has the email ${options.email}`);
      await accounts.changeRole(options.workspace, 'owner', user.id, options.role, CLI_CONTEXT);
    });
    process.stdout.write(`${options.email} is now ${options.role} of ${options.workspace}\n`);
  });

program
  .command('set-ceiling')
  .description("set a workspace's rate-limit ceiling: the highest limit its keys may have")
  .requiredOption('--workspace <id>')
  .requiredOption('--per-minute <n>', 'requests per minute', positiveInt)
  .option('--per-hour <n>', 'requests per hour (default: 60 × per minute)', positiveInt)
  .action(async (options: { workspace: string; perMinute: number; perHour?: number }) => {
    const ceiling = { ceiling_per_minute: options.perMinute, ceiling_per_hour: options.perHour ?? options.perMinute * 60 };
    await withDb(async (db) => {
      await db.transaction().execute(async (tx) => {
        if (!(await createAccountsRepo().setCeiling(tx, options.workspace, ceiling))) {
          throw new InvalidArgumentError(`no workspace has the id ${options.workspace}`);
        }
        await recordManagementEvent(tx, CLI_CONTEXT, {
          workspaceId: options.workspace,
          action: 'workspace.ceiling_change',
          target: { type: 'workspace', id: options.workspace },
          details: ceiling,
        });
      });
    });
    process.stdout.write(`${options.workspace}: ceiling ${ceiling.ceiling_per_minute}/min, ${ceiling.ceiling_per_hour}/hour\n`);
  });

program
  .command('list-workspaces')
  .description('list workspaces with their ceilings')
  .action(async () => {
    const rows = await withDb((db) => db.selectFrom('workspaces').selectAll().orderBy('id').execute());
    for (const w of rows) process.stdout.write(`${w.id}\t${w.name}\t${w.ceiling_per_minute}/min\t${w.ceiling_per_hour}/hour\n`);
  });

program
  .command('demo-data')
  .description("fill a workspace's live and test views with demo conversations, contacts, tickets, … (skips a view that has them)")
  .requiredOption('--workspace <id>', 'workspace id (ws_…)')
  .action(async (options: { workspace: string }) => {
    const result = await withDb(async (db) => {
      const workspace = await createAccountsRepo().findWorkspace(db, options.workspace);
      if (!workspace) throw new InvalidArgumentError(`no workspace has the id ${options.workspace}`);
      return seedDemoData(db, workspace.id, new Date());
    });
    process.stdout.write(`${describeSeed(options.workspace, result)}\n`);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof AppError || error instanceof InvalidArgumentError ? error.message : String(error);
  process.stderr.write(`latchkey: ${message}\n`);
  process.exit(1);
});
