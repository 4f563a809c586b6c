import { sql, type Kysely } from 'kysely';

/** Runs DDL statement by statement: PGlite's extended protocol takes one statement per query. */
export async function runDdl(db: Kysely<unknown>, ddl: string): Promise<void> {
  const statements = ddl.split(/;\s*\n/).map((s) => s.trim()).filter(Boolean);
  for (const statement of statements) await sql.raw(statement).execute(db);
}
