import type { Kysely } from 'kysely';
import { runDdl } from './ddl.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runDdl(db, DDL);
}

/*
 * The reference product API keeps every object in one generic table: the nine resources differ only in
 * their fields, which their Zod schemas bound and which live in `data`. Only what a query needs is a
 * column: the view (workspace_id, mode), the kind, a parent (a trace's conversation), and contacts'
 * upsert keys (email, external_id), unique per view so that two concurrent upserts cannot both insert.
 */
const DDL = `
    create table api_records (
      id text primary key,
      workspace_id text not null references workspaces (id),
      mode text not null check (mode in ('live', 'test')),
      kind text not null,
      parent_id text,
      email text,
      external_id text,
      data jsonb not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index api_records_list on api_records (workspace_id, mode, kind, id desc);
    create index api_records_children on api_records (workspace_id, mode, parent_id, id) where parent_id is not null;
    create unique index api_records_email on api_records (workspace_id, mode, kind, email) where email is not null;
    create unique index api_records_external_id on api_records (workspace_id, mode, kind, external_id) where external_id is not null;
`;

export async function down(): Promise<void> {
  throw new Error('Latchkey migrations only go forward');
}
