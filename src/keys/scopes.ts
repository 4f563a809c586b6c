/** The default scope catalog of PRODUCT.md: what a key may be granted, and what each allows. */
export const SCOPE_CATALOG = [
  { scope: 'conversations:read', group: 'Conversations', allows: 'List and get conversations and their traces' },
  { scope: 'conversations:write', group: 'Conversations', allows: 'Ingest transcripts (POST /api/v1/conversations)' },
  { scope: 'contacts:read', group: 'Contacts', allows: 'Read contacts' },
  { scope: 'contacts:write', group: 'Contacts', allows: 'Upsert contacts' },
  { scope: 'tickets:read', group: 'Tickets', allows: 'Read tickets' },
  { scope: 'tickets:write', group: 'Tickets', allows: 'Create and update tickets' },
  { scope: 'scorecards:read', group: 'QA', allows: 'Pull QA scores' },
  { scope: 'agents:read', group: 'Agents', allows: 'Read agent configs' },
  { scope: 'webhooks:manage', group: 'Webhooks', allows: 'List, create, update and delete webhook endpoints' },
  { scope: 'knowledge_base:read', group: 'Knowledge base', allows: 'Read knowledge base entries' },
  { scope: 'knowledge_base:write', group: 'Knowledge base', allows: 'Create, update and delete knowledge base entries' },
  { scope: 'accounts:read', group: 'Accounts', allows: 'Read accounts' },
  { scope: 'accounts:write', group: 'Accounts', allows: 'Create, update and delete accounts' },
  { scope: 'policies:read', group: 'Policies', allows: 'Read policies' },
  { scope: 'policies:write', group: 'Policies', allows: 'Create, update and delete policies' },
  { scope: 'keys:rotate_self', group: 'API keys', allows: 'Rotate its own secret (POST /api/v1/api_keys/current/rotate)' },
] as const;

export type Scope = (typeof SCOPE_CATALOG)[number]['scope'];

const KNOWN = new Set<string>(SCOPE_CATALOG.map((entry) => entry.scope));

export function isScope(value: string): value is Scope {
  return KNOWN.has(value);
}
