import type { Db, Tx } from '../db/client.js';
import { AppError } from '../http/errors.js';
import { newId } from '../ids.js';
import { isUniqueViolation, type RecordsRepo, type View } from './records-repo.js';
import { presentRecord, type ApiObject, type RecordsService } from './records-service.js';
import type { ContactUpsert } from './resource-schemas.js';
import { CONTACTS } from './resources.js';

export interface ContactsDeps {
  db: Db;
  repo: RecordsRepo;
  records: Pick<RecordsService, 'checkReferences' | 'emit'>;
  now: () => Date;
}

export interface Upserted {
  created: boolean;
  contact: ApiObject;
}

/** The fields a new contact starts with, so that every contact shows the same keys. */
const NEW_CONTACT = { email: null, external_id: null, name: null, phone: null, account_id: null, metadata: {} };

/**
 * POST /api/v1/contacts: the contact whose external_id or email matches is updated with the fields given;
 * when none matches, one is created. Both keys are unique per view (partial unique indexes), which is what
 * makes two concurrent upserts of a new contact safe: the second insert fails, and its retry finds the first.
 */
export function createContactsService(deps: ContactsDeps) {
  const { db, repo } = deps;

  async function upsertOnce(view: View, fields: ContactUpsert): Promise<Upserted> {
    return db.transaction().execute(async (tx) => {
      const matches = await repo.findByKeys(tx, view, CONTACTS.object, { email: fields.email, externalId: fields.external_id });
      if (matches.length > 1) {
        throw new AppError('conflict', 'The email and the external_id belong to two different contacts.', { param: 'external_id' });
      }
      const at = deps.now();
      const existing = matches[0];
      if (existing) {
        const data = { ...existing.data, ...fields };
        const row = await repo.update(tx, view, existing.id, { data, email: fields.email, externalId: fields.external_id, at });
        return upserted(tx, view, false, presentRecord(row));
      }
      const row = await repo.insert(tx, view, {
        id: newId(CONTACTS.prefix, at.getTime()),
        kind: CONTACTS.object,
        data: { ...NEW_CONTACT, ...fields },
        email: fields.email ?? null,
        externalId: fields.external_id ?? null,
        at,
      });
      return upserted(tx, view, true, presentRecord(row));
    });
  }

  /** contact.upserted, created or updated alike, in the upsert's transaction. */
  async function upserted(tx: Tx, view: View, created: boolean, contact: ApiObject): Promise<Upserted> {
    await deps.records.emit(tx, view, 'contact.upserted', contact);
    return { created, contact };
  }

  return {
    async upsert(view: View, input: ContactUpsert): Promise<Upserted> {
      // Emails are matched case-insensitively: Ada@Example.com and ada@example.com are one person.
      const fields: ContactUpsert = input.email === undefined ? input : { ...input, email: input.email.toLowerCase() };
      await deps.records.checkReferences(db, view, CONTACTS.references, fields);
      try {
        return await upsertOnce(view, fields);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
      // A concurrent upsert inserted this contact between our look-up and our insert: this time we find it.
      try {
        return await upsertOnce(view, fields);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        throw new AppError('conflict', 'The email or the external_id already belongs to another contact.');
      }
    },
  };
}

export type ContactsService = ReturnType<typeof createContactsService>;
