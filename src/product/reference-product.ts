/**
 * The reference product's scope catalog (PRODUCT.md "The public API"): what a key may be granted when no
 * PRODUCT_FILE is given, and what each allows. A product file replaces it (src/product/product.ts).
 */
export const REFERENCE_SCOPES = [
  { scope: 'conversations:read', group: 'Conversations', description: 'List and get conversations and their traces' },
  { scope: 'conversations:write', group: 'Conversations', description: 'Ingest transcripts (POST /api/v1/conversations)' },
  { scope: 'contacts:read', group: 'Contacts', description: 'Read contacts' },
  { scope: 'contacts:write', group: 'Contacts', description: 'Upsert contacts' },
  { scope: 'tickets:read', group: 'Tickets', description: 'Read tickets' },
  { scope: 'tickets:write', group: 'Tickets', description: 'Create and update tickets' },
  { scope: 'scorecards:read', group: 'QA', description: 'Pull QA scores' },
  { scope: 'agents:read', group: 'Agents', description: 'Read agent configs' },
  { scope: 'webhooks:manage', group: 'Webhooks', description: 'List, create, update and delete webhook endpoints' },
  { scope: 'knowledge_base:read', group: 'Knowledge base', description: 'Read knowledge base entries' },
  { scope: 'knowledge_base:write', group: 'Knowledge base', description: 'Create, update and delete knowledge base entries' },
  { scope: 'accounts:read', group: 'Accounts', description: 'Read accounts' },
  { scope: 'accounts:write', group: 'Accounts', description: 'Create, update and delete accounts' },
  { scope: 'policies:read', group: 'Policies', description: 'Read policies' },
  { scope: 'policies:write', group: 'Policies', description: 'Create, update and delete policies' },
  { scope: 'keys:rotate_self', group: 'API keys', description: 'Rotate its own secret (POST /api/v1/api_keys/current/rotate)' },
] as const;

/** The scopes the reference product's own routes (src/api) declare. */
export type ReferenceScope = (typeof REFERENCE_SCOPES)[number]['scope'];
