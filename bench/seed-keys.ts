/**
 * Many valid API keys straight in the database, for benchmarks that need more keys than creating them
 * over HTTP (one transaction and one management event each) would make in reasonable time.
 *
 * The secrets are real ones, in the product's format (generateSecret), and only their SHA-256 is stored,
 * as the keys service does; the plaintexts are returned to the caller and, through writeSecretsFile, kept
 * in a private temporary file, never in results or logs. A key is stored as the service stores it: one
 * api_keys row and its version 1 in api_key_secrets, prefix and all. No management event is written (an
 * operator's action is what those record, and a benchmark's keys are not one).
 *
 * Rows go in chunks, one `insert … select from unnest(…)` per table and chunk, in one transaction per chunk.
 */
import { rmSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { hashPassword } from '../src/accounts/password.js';
import type { Db } from '../src/db/client.js';
import type { Mode } from '../src/db/schema.js';
import { newId } from '../src/ids.js';
import { displayPrefix, generateSecret, hashSecret } from '../src/keys/key-format.js';

/** What setUp (bench/lib.ts) signs in with, so a seeded installation accepts the same login. */
export const BENCH_EMAIL = 'bench@example.com';
export const BENCH_PASSWORD = 'correct horse battery staple';
/** Far above what one core serves in a minute, and the most the server's config accepts as a ceiling. */
export const BENCH_RATE_LIMIT_PER_MINUTE = 1_000_000;

export interface SeedKeysOptions {
  workspaceId: string;
  /** Who created the keys (api_keys.created_by); by default the workspace's first owner. */
  createdBy?: string;
  count: number;
  scopes?: string[];
  mode?: Mode;
  /** The server's KEY_PREFIX. */
  keyPrefix?: string;
  ratePerMinute?: number;
  ipAllowlist?: string[];
  /** Rows per INSERT. */
  chunkSize?: number;
  /** Called after each chunk with the number of keys stored so far. */
  onProgress?: (stored: number) => void;
}

/** Stores `count` valid keys and returns their secrets, in insertion order. */
export async function seedKeys(db: Db, options: SeedKeysOptions): Promise<string[]> {
  const mode = options.mode ?? 'live';
  const keyPrefix = options.keyPrefix ?? 'lk';
  const scopes = options.scopes ?? ['conversations:read'];
  const perMinute = options.ratePerMinute ?? BENCH_RATE_LIMIT_PER_MINUTE;
  const allowlist = options.ipAllowlist ?? [];
  const chunkSize = options.chunkSize ?? 5000;
  const createdBy = options.createdBy ?? (await ownerOf(db, options.workspaceId));
  const secrets: string[] = [];
  for (let start = 0; start < options.count; start += chunkSize) {
    const size = Math.min(chunkSize, options.count - start);
    const keyIds: string[] = [];
    const secretIds: string[] = [];
    const names: string[] = [];
    const prefixes: string[] = [];
    const hashes: string[] = [];
    for (let i = 0; i < size; i++) {
      const secret = generateSecret(keyPrefix, mode);
      secrets.push(secret);
      keyIds.push(newId('key'));
      secretIds.push(newId('sec'));
      names.push(`bench ${start + i + 1}`);
      prefixes.push(displayPrefix(secret));
      hashes.push(hashSecret(secret));
    }
    await db.transaction().execute(async (tx) => {
      await sql`
        insert into api_keys (id, workspace_id, name, mode, prefix, scopes, rate_limit_per_minute, ip_allowlist, created_by)
        select k.id, ${options.workspaceId}, k.name, ${mode}, k.prefix, ${scopes}::text[], ${perMinute}::int4, ${allowlist}::text[], ${createdBy}
        from unnest(${keyIds}::text[], ${names}::text[], ${prefixes}::text[]) as k(id, name, prefix)
      `.execute(tx);
      await sql`
        insert into api_key_secrets (id, key_id, version, secret_hash, prefix)
        select s.id, s.key_id, 1, s.secret_hash, s.prefix
        from unnest(${secretIds}::text[], ${keyIds}::text[], ${hashes}::text[], ${prefixes}::text[]) as s(id, key_id, secret_hash, prefix)
      `.execute(tx);
    });
    options.onProgress?.(start + size);
  }
  return secrets;
}

async function ownerOf(db: Db, workspaceId: string): Promise<string> {
  const row = await db
    .selectFrom('memberships')
    .select('user_id')
    .where('workspace_id', '=', workspaceId)
    .where('role', '=', 'owner')
    .orderBy('created_at')
    .executeTakeFirst();
  if (!row) throw new Error(`workspace ${workspaceId} has no owner to create keys as`);
  return row.user_id;
}

/**
 * What first-run setup makes (the bench owner and a workspace), straight in an empty database, for a
 * server that is seeded before it starts. The owner signs in with BENCH_EMAIL and BENCH_PASSWORD.
 */
export async function seedWorkspace(db: Db, options: { ceilingPerMinute?: number } = {}): Promise<{ workspaceId: string; userId: string }> {
  const userId = newId('usr');
  const workspaceId = newId('ws');
  const ceiling = options.ceilingPerMinute ?? BENCH_RATE_LIMIT_PER_MINUTE;
  const passwordHash = await hashPassword(BENCH_PASSWORD);
  await db.transaction().execute(async (tx) => {
    await tx.insertInto('users').values({ id: userId, email: BENCH_EMAIL, password_hash: passwordHash }).execute();
    await tx.insertInto('workspaces').values({ id: workspaceId, name: 'Bench', ceiling_per_minute: ceiling, ceiling_per_hour: ceiling * 60 }).execute();
    await tx.insertInto('memberships').values({ workspace_id: workspaceId, user_id: userId, role: 'owner' }).execute();
  });
  return { workspaceId, userId };
}

export interface SecretsFile {
  path: string;
  /** Deletes the file and its folder. */
  remove(): Promise<void>;
}

/** One secret per line in a fresh private folder under the system's temporary directory (mode 600). */
export async function writeSecretsFile(secrets: readonly string[]): Promise<SecretsFile> {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-bench-secrets-'));
  await chmod(dir, 0o700);
  const path = join(dir, 'secrets.txt');
  // Also on an exit that skips the caller's cleanup (Ctrl-C: startLatchkey stops the server and exits).
  const onExit = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', onExit);
  await writeFile(path, `${secrets.join('\n')}\n`, { mode: 0o600 });
  return {
    path,
    remove: async () => {
      process.off('exit', onExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function readSecretsFile(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter((line) => line.length > 0);
}
