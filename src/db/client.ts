import { mkdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { PGliteDialect } from './pglite-dialect.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** A repository call accepts either, so a service can put several writes in one transaction. */
export type Executor = Db | Tx;

export interface DatabaseTarget {
  /** PostgreSQL connection string; without it, PGlite in `dataDir` (or in memory when dataDir is "memory://"). */
  databaseUrl?: string | undefined;
  dataDir?: string;
  poolSize?: number;
}

// PostgreSQL's bigint (counts, sums) arrives as a string from pg; our counts fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
// A date is a day, not an instant: kept as its text (2026-11-23) rather than a Date at local midnight.
const DATE_OID = 1082;
pg.types.setTypeParser(DATE_OID, (value) => value);

export function openDatabase(target: DatabaseTarget): { db: Db; kind: 'postgres' | 'pglite' } {
  if (target.databaseUrl) {
    const pool = new pg.Pool({ connectionString: target.databaseUrl, max: target.poolSize ?? 10 });
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    pool.on('error', () => {});
    // The pool listens only to idle clients: one checked out (a transaction between two queries) whose
    // connection drops emits 'error' itself, which would crash the process. Its query fails anyway.
    pool.on('connect', (client) => client.on('error', () => {}));
    return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), kind: 'postgres' };
  }
  // Node 24.22.3's V8 has twice aborted a test process (`Check failed: jit_page_->allocations_.erase(addr)
  // == 1` in ThreadIsolation::UnregisterWasmAllocation) while freeing PGlite's WebAssembly code: the wasm
  // code GC's path. Without it, code that tier-up replaced stays allocated (a few MB), and that path is never taken.
  setFlagsFromString('--no-wasm-code-gc');
  const dataDir = target.dataDir ?? './data';
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const pglite = new PGlite(dataDir, { parsers: { [DATE_OID]: (value: string) => value } });
  return { db: new Kysely<Database>({ dialect: new PGliteDialect(pglite) }), kind: 'pglite' };
}
