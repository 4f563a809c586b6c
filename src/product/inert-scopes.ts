import { sql } from 'kysely';
import type { Db } from '../db/client.js';
import type { Product } from './product.js';

export interface InertScope {
  scope: string;
  /** Active keys that hold it. */
  keys: number;
}

/**
 * Scopes that active keys hold but the product file no longer lists. They stay on the keys and grant
 * nothing (the authenticator leaves them out of the principal); listing them in the file again makes
 * them work again. Said once at start, so that an operator who removed a scope by mistake sees it.
 */
export async function findInertScopes(db: Db, product: Pick<Product, 'isScope'>): Promise<InertScope[]> {
  const { rows } = await sql<{ scope: string; keys: string | number }>`
    select held.scope, count(*) as keys
    from api_keys, unnest(api_keys.scopes) as held(scope)
    where api_keys.revoked_at is null
    group by held.scope
    order by held.scope`.execute(db);
  return rows.filter((row) => !product.isScope(row.scope)).map((row) => ({ scope: row.scope, keys: Number(row.keys) }));
}

/** One warning line naming each inert scope and how many keys hold it; nothing when there is none. */
export async function warnOfInertScopes(db: Db, product: Pick<Product, 'isScope'>, log: { warn: (fields: object, message: string) => void }): Promise<InertScope[]> {
  const inert = await findInertScopes(db, product);
  if (inert.length > 0) {
    const list = inert.map((entry) => `${entry.scope} (${entry.keys} ${entry.keys === 1 ? 'key' : 'keys'})`).join(', ');
    log.warn({ inert_scopes: inert }, `keys hold scopes the product file does not list; they grant nothing until it lists them again: ${list}`);
  }
  return inert;
}
