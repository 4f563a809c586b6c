import type { Db, Tx } from '../db/client.js';
import type { Mode } from '../db/schema.js';
import { createEndpointsRepo } from '../events/endpoints-repo.js';
import { newEndpointSecret } from '../events/signing.js';
import { newId, type IdPrefix } from '../ids.js';
import { transcriptRecords } from './conversations-service.js';
import { createRecordsRepo, type View } from './records-repo.js';
import * as schemas from './resource-schemas.js';

export interface SeedResult {
  /** Per view: whether it was filled now (false: it already held demo data and was left alone). */
  live: boolean;
  test: boolean;
}

const repo = createRecordsRepo();
const endpoints = createEndpointsRepo();
const HOUR = 3_600_000;

/**
 * Fills the live and the test view of a workspace with a believable handful of every resource: accounts,
 * contacts, agents, policies, knowledge base entries, conversations with their traces, scorecards, tickets
 * and a (disabled) webhook endpoint. Idempotent per view: a view that already has agents (a read-only resource that
 * only this seed writes) is left as it is, so running the command twice adds nothing. Each view is filled
 * in one transaction; contacts' unique external ids make a concurrent second seed fail instead of doubling.
 * Bodies go through the API's own create schemas, so demo objects look exactly like created ones.
 */
export async function seedDemoData(db: Db, workspaceId: string, now: Date): Promise<SeedResult> {
  const result: SeedResult = { live: false, test: false };
  for (const mode of ['live', 'test'] as const) {
    result[mode] = await db.transaction().execute((tx) => seedView(tx, { workspaceId, mode }, now));
  }
  return result;
}

/** Writes demo objects into one view, oldest first, so that ids and created_at agree. */
function seeder(tx: Tx, view: View, now: Date) {
  // Objects are spread over the last two weeks, three hours apart.
  let t = now.getTime() - 14 * 24 * HOUR;
  const next = () => new Date((t += 3 * HOUR));
  return {
    tx,
    view,
    next,
    /** A test view's names say so, so that a screenshot never mixes the two up. */
    tag: view.mode === 'test' ? ' (test)' : '',
    async add(kind: string, prefix: IdPrefix, data: Record<string, unknown>, keys: { email?: string; externalId?: string } = {}) {
      const at = next();
      const id = newId(prefix, at.getTime());
      await repo.insert(tx, view, { id, kind, data, at, email: keys.email ?? null, externalId: keys.externalId ?? null });
      return id;
    },
  };
}

type Seeder = ReturnType<typeof seeder>;

async function seedView(tx: Tx, view: View, now: Date): Promise<boolean> {
  if ((await repo.countKind(tx, view, 'agent')) > 0) return false;
  const s = seeder(tx, view, now);
  const accounts = await seedAccounts(s);
  const contacts = await seedContacts(s, accounts);
  const agents = await seedAgents(s);
  await seedPoliciesAndArticles(s);
  const conversations = await seedConversations(s, contacts, agents);
  await seedScorecards(s, conversations);
  await seedTickets(s, { contacts, conversations: conversations.map((c) => c.id), assignee: agents[1] ?? null });
  await seedWebhook(s);
  return true;
}

/**
 * A webhook as /api/v1/webhooks makes it (an event endpoint with its secret), but disabled: its host is an
 * example that does not answer, and an enabled one would be tried for three days then disabled anyway.
 */
async function seedWebhook(s: Seeder): Promise<void> {
  const at = s.next();
  const fields = schemas.webhookCreate.parse({
    url: 'https://hooks.example.com/latchkey',
    events: ['conversation.created', 'ticket.created'],
    description: 'Demo endpoint (disabled: hooks.example.com does not answer)',
    enabled: false,
  });
  const id = newId('whk', at.getTime());
  await endpoints.insert(s.tx, {
    id,
    audience: 'product',
    workspace_id: s.view.workspaceId,
    mode: s.view.mode,
    service_key_id: null,
    ...fields,
    disabled_at: null,
    disabled_reason: null,
    created_by: null,
    created_at: at,
    updated_at: at,
  });
  await endpoints.insertSecret(s.tx, { id: newId('whs', at.getTime()), endpoint_id: id, secret: newEndpointSecret(), created_at: at });
}

async function seedAccounts(s: Seeder): Promise<string[]> {
  const ids = [];
  for (const [name, domain, plan] of [
    ['Northwind Traders', 'northwind.example', 'enterprise'],
    ['Globex', 'globex.example', 'growth'],
    ['Initech', 'initech.example', 'starter'],
  ] as const) {
    ids.push(await s.add('account', 'acct', schemas.accountCreate.parse({ name: `${name}${s.tag}`, domain, plan, tags: ['demo'] })));
  }
  return ids;
}

const PEOPLE = [
  ['Ada Lovelace', 'ada@northwind.example', 0],
  ['Grace Hopper', 'grace@northwind.example', 0],
  ['Hank Scorpio', 'hank@globex.example', 1],
  ['Peter Gibbons', 'peter@initech.example', 2],
  ['Milton Waddams', 'milton@initech.example', 2],
] as const;

async function seedContacts(s: Seeder, accounts: string[]): Promise<string[]> {
  const ids = [];
  for (const [index, [name, email, account]] of PEOPLE.entries()) {
    const externalId = `crm_${1001 + index}`;
    const data = { email, external_id: externalId, name, phone: `+1 555 010${index}`, account_id: accounts[account] ?? null, metadata: { source: 'demo' } };
    ids.push(await s.add('contact', 'cont', data, { email, externalId }));
  }
  return ids;
}

const AGENTS = [
  { name: 'Ava', type: 'ai', status: 'active', model: 'latchkey-demo-1', language: 'en', channels: ['chat', 'email'], instructions: 'Answer from the knowledge base; escalate refunds above $500.' },
  { name: 'Sam Rivera', type: 'human', status: 'active', model: null, language: 'en', channels: ['chat', 'voice'], instructions: null },
  { name: 'Billing bot', type: 'ai', status: 'inactive', model: 'latchkey-demo-1', language: 'en', channels: ['email'], instructions: 'Handle invoices and payment method changes only.' },
];

async function seedAgents(s: Seeder): Promise<string[]> {
  const ids = [];
  for (const agent of AGENTS) ids.push(await s.add('agent', 'agt', { ...agent, metadata: { demo: true } }));
  return ids;
}

async function seedPoliciesAndArticles(s: Seeder): Promise<void> {
  for (const policy of [
    { name: 'Refunds', description: 'When an agent may refund without approval.', body: 'Refunds up to $500 within 30 days of purchase need no approval. Above that, escalate to a human.' },
    { name: 'Escalation', description: 'When a conversation goes to a human.', body: 'Escalate on legal threats, security reports, or a customer asking twice for a person.' },
    { name: 'Tone of voice', description: null, body: 'Be brief, warm and specific. Never blame the customer.' },
  ]) {
    await s.add('policy', 'pol', schemas.policyCreate.parse(policy));
  }
  for (const entry of [
    { title: 'Resetting your password', body: 'Open Settings → Security and choose "Reset password". The link is valid for one hour.', status: 'published', tags: ['account'] },
    { title: 'Changing your plan', body: 'Plan changes take effect at once; the difference is prorated on the next invoice.', status: 'published', tags: ['billing'] },
    { title: 'Exporting your data', body: 'Settings → Data → Export produces a ZIP of CSV files within a few minutes.', status: 'published', tags: ['data'] },
    { title: 'SSO setup (draft)', body: 'SAML and OIDC are supported on the enterprise plan. Steps to follow.', status: 'draft', tags: ['security'] },
  ]) {
    await s.add('knowledge_base_entry', 'kb', schemas.knowledgeBaseCreate.parse({ ...entry, locale: 'en' }));
  }
}

/** Each transcript goes through the API's ingest schema and record builder, so it has traces like any other. */
async function seedConversations(s: Seeder, contacts: string[], agents: string[]): Promise<Array<{ id: string; agentId: string | null }>> {
  const out = [];
  for (const [index, transcript] of TRANSCRIPTS.entries()) {
    const at = s.next();
    const agentId = agents[index % 2] ?? null;
    const input = schemas.conversationIngest.parse({
      external_id: `chat_${5001 + index}`,
      channel: transcript.channel,
      subject: transcript.subject,
      participants: [
        { id: 'customer', role: 'customer', name: PEOPLE[index % PEOPLE.length]?.[0], contact_id: contacts[index % contacts.length] ?? null },
        { id: 'agent', role: AGENTS[index % 2]?.type === 'ai' ? 'bot' : 'agent', name: AGENTS[index % 2]?.name, agent_id: agentId },
      ],
      messages: transcript.lines.map(([who, text], line) => ({
        participant: who,
        text,
        sent_at: new Date(at.getTime() - (transcript.lines.length - line) * 60_000).toISOString(),
      })),
      metadata: { source: 'demo' },
    });
    const { conversation, traces } = transcriptRecords(input, at);
    await repo.insert(s.tx, s.view, conversation);
    await repo.insertMany(s.tx, s.view, traces);
    out.push({ id: conversation.id, agentId });
  }
  return out;
}

async function seedScorecards(s: Seeder, conversations: Array<{ id: string; agentId: string | null }>): Promise<void> {
  for (const [index, conversation] of conversations.entries()) {
    const criteria = [
      { name: 'Greeting', score: 10, max_score: 10, comment: null },
      { name: 'Resolution', score: [35, 28, 40, 20][index] ?? 30, max_score: 40, comment: index === 3 ? 'Did not confirm the fix.' : null },
      { name: 'Policy adherence', score: [30, 30, 25, 30][index] ?? 30, max_score: 30, comment: null },
      { name: 'Tone', score: [20, 15, 20, 18][index] ?? 20, max_score: 20, comment: null },
    ];
    const score = criteria.reduce((sum, c) => sum + c.score, 0);
    await s.add('scorecard', 'scr', {
      conversation_id: conversation.id,
      agent_id: conversation.agentId,
      score,
      max_score: 100,
      passed: score >= 80,
      reviewer: index % 2 === 0 ? 'auto' : 'human',
      criteria,
      metadata: {},
    });
  }
}

async function seedTickets(s: Seeder, refs: { contacts: string[]; conversations: string[]; assignee: string | null }): Promise<void> {
  for (const [index, ticket] of [
    { subject: 'Refund for duplicate charge', priority: 'high', status: 'open', tags: ['billing'] },
    { subject: 'Export stuck at 90%', priority: 'normal', status: 'pending', tags: ['data'] },
    { subject: 'Request: SSO on growth plan', priority: 'low', status: 'solved', tags: ['feature-request'] },
  ].entries()) {
    const conversationId = refs.conversations[index] ?? null;
    await s.add(
      'ticket',
      'tkt',
      schemas.ticketCreate.parse({
        ...ticket,
        description: conversationId ? `Opened from conversation ${conversationId}.` : null,
        contact_id: refs.contacts[index] ?? null,
        conversation_id: conversationId,
        assignee_agent_id: refs.assignee,
      }),
    );
  }
}

const TRANSCRIPTS: Array<{ subject: string; channel: 'chat' | 'email'; lines: Array<['customer' | 'agent', string]> }> = [
  {
    subject: 'Charged twice this month',
    channel: 'chat',
    lines: [
      ['customer', 'Hi, I was charged twice for March.'],
      ['agent', 'Sorry about that! I can see two charges of $49 on March 1st.'],
      ['agent', 'I have refunded the duplicate; it will show in 3–5 business days.'],
      ['customer', 'Great, thanks.'],
    ],
  },
  {
    subject: 'Data export stuck',
    channel: 'email',
    lines: [
      ['customer', 'My export has been at 90% for an hour.'],
      ['agent', 'Thanks for reporting it. Could you tell me roughly how many records you are exporting?'],
      ['customer', 'About two million.'],
      ['agent', 'Large exports can take longer; I have opened a ticket with engineering and will follow up.'],
    ],
  },
  {
    subject: 'How do I reset my password?',
    channel: 'chat',
    lines: [
      ['customer', 'How do I reset my password?'],
      ['agent', 'Open Settings → Security and choose "Reset password". The link is valid for one hour.'],
      ['customer', 'Done, thank you!'],
    ],
  },
  {
    subject: 'SSO on the growth plan?',
    channel: 'chat',
    lines: [
      ['customer', 'Can we use SSO on the growth plan?'],
      ['agent', 'SSO is part of the enterprise plan today.'],
      ['customer', 'Any chance that changes?'],
      ['agent', 'I have passed your request to the product team.'],
      ['customer', 'OK.'],
    ],
  },
];

/** For the CLI's report. */
export function describeSeed(workspaceId: string, result: SeedResult): string {
  const say = (mode: Mode) => `${mode}: ${result[mode] ? 'filled' : 'already had demo data, left as it was'}`;
  return `${workspaceId}: ${say('live')}; ${say('test')}`;
}
