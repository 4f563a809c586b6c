import { z } from 'zod';
import { text as wellFormed } from '../http/schemas.js';
import { PRODUCT_EVENT_TYPES } from '../events/event-types.js';

/**
 * The request bodies of the product API. Every string and list is bounded (STYLE: "`z.string()` is almost
 * never right"). Create schemas carry the defaults; update schemas are the same fields, all optional and
 * without defaults, so that a PATCH changes only what it names. A nullable field is cleared by `null`.
 */

/** Trimmed, bounded, and (by http/schemas) free of control characters and lone surrogates, which PostgreSQL refuses. */
const text = (max: number) => z.string().trim().max(max).pipe(wellFormed(max));
const required = (max: number) => z.string().trim().min(1).max(max).pipe(wellFormed(max));
/** Long text kept as written (leading spaces and line breaks matter in a message or an article). */
const body = (max: number) => z.string().min(1).max(max).pipe(wellFormed(max));
/** An id of another object in the same view (a ticket's contact, a participant's agent); checked by the service. */
export const refId = z.string().min(1).max(64).pipe(wellFormed(64));
const tags = z.array(required(50)).max(20);
const timestamp = z.iso.datetime({ offset: true });

const metadataValue = z.union([wellFormed(500), z.number(), z.boolean(), z.null()]);
/** Free-form key/value pairs, as Stripe's metadata: at most 50 keys, keys up to 40 and values up to 500 characters. */
export const metadata = z
  .record(required(40), metadataValue)
  .refine((value) => Object.keys(value).length <= 50, { message: 'metadata may have at most 50 keys.' });

export const emailAddress = z.string().trim().max(254).pipe(z.email());

// ---- conversations: a transcript to ingest -------------------------------------------------------------

export const PARTICIPANT_ROLES = ['customer', 'agent', 'bot', 'system'] as const;
export const CHANNELS = ['chat', 'email', 'voice', 'sms', 'social', 'other'] as const;

const participant = z.strictObject({
  /** The participant's handle inside this transcript, which its messages name (e.g. "p1" or "customer"). */
  id: required(64),
  role: z.enum(PARTICIPANT_ROLES),
  name: text(100).nullable().default(null),
  contact_id: refId.nullable().default(null),
  agent_id: refId.nullable().default(null),
});

const message = z.strictObject({
  participant: required(64),
  text: body(10_000),
  sent_at: timestamp,
});

export const conversationIngest = z
  .strictObject({
    external_id: required(200).nullable().default(null),
    channel: z.enum(CHANNELS).default('chat'),
    subject: text(200).nullable().default(null),
    participants: z.array(participant).min(1).max(20),
    messages: z.array(message).min(1).max(1000),
    metadata: metadata.default({}),
  })
  .superRefine((body, ctx) => {
    const handles = new Set(body.participants.map((p) => p.id));
    if (handles.size !== body.participants.length) {
      ctx.addIssue({ code: 'custom', path: ['participants'], message: 'participants must have distinct ids.' });
    }
    body.messages.forEach((m, index) => {
      if (!handles.has(m.participant)) {
        ctx.addIssue({
          code: 'custom',
          path: ['messages', index, 'participant'],
          message: `messages.${index}.participant names no participant of this transcript.`,
        });
      }
    });
  });

export type ConversationIngest = z.infer<typeof conversationIngest>;

// ---- contacts: upserted by email or external_id --------------------------------------------------------

export const contactUpsert = z
  .strictObject({
    email: emailAddress.optional(),
    external_id: required(200).optional(),
    name: text(100).nullable().optional(),
    phone: text(40).nullable().optional(),
    account_id: refId.nullable().optional(),
    metadata: metadata.optional(),
  })
  .refine((body) => body.email !== undefined || body.external_id !== undefined, {
    message: 'Give email or external_id: a contact is upserted by one of them.',
    path: ['email'],
  });

export type ContactUpsert = z.infer<typeof contactUpsert>;

// ---- tickets --------------------------------------------------------------------------------------------

const ticketFields = {
  subject: required(200),
  description: text(10_000).nullable(),
  status: z.enum(['open', 'pending', 'solved', 'closed']),
  priority: z.enum(['low', 'normal', 'high', 'urgent']),
  contact_id: refId.nullable(),
  conversation_id: refId.nullable(),
  assignee_agent_id: refId.nullable(),
  tags,
  metadata,
};

export const ticketCreate = z.strictObject({
  ...ticketFields,
  description: ticketFields.description.default(null),
  status: ticketFields.status.default('open'),
  priority: ticketFields.priority.default('normal'),
  contact_id: ticketFields.contact_id.default(null),
  conversation_id: ticketFields.conversation_id.default(null),
  assignee_agent_id: ticketFields.assignee_agent_id.default(null),
  tags: tags.default([]),
  metadata: metadata.default({}),
});
export const ticketUpdate = z.strictObject(ticketFields).partial();

// ---- webhooks: where the product's events go (event_endpoints, delivered and signed by src/events/) ------

/** What a webhook may subscribe to: the events the reference product sends. */
export const WEBHOOK_EVENTS = PRODUCT_EVENT_TYPES;

const webhookFields = {
  // Bounded here; the webhooks service checks it as every endpoint's URL is checked (https, a public host).
  url: z.string().max(2048),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(WEBHOOK_EVENTS.length),
  description: text(500).nullable(),
  enabled: z.boolean(),
};

export const webhookCreate = z.strictObject({
  ...webhookFields,
  description: webhookFields.description.default(null),
  enabled: webhookFields.enabled.default(true),
});
export const webhookUpdate = z.strictObject(webhookFields).partial();

// ---- knowledge base -------------------------------------------------------------------------------------

const knowledgeBaseFields = {
  title: required(200),
  body: body(50_000),
  status: z.enum(['draft', 'published']),
  locale: text(20).nullable(),
  tags,
  metadata,
};

export const knowledgeBaseCreate = z.strictObject({
  ...knowledgeBaseFields,
  status: knowledgeBaseFields.status.default('draft'),
  locale: knowledgeBaseFields.locale.default(null),
  tags: tags.default([]),
  metadata: metadata.default({}),
});
export const knowledgeBaseUpdate = z.strictObject(knowledgeBaseFields).partial();

// ---- accounts (the customer's own customers: companies) ------------------------------------------------

const accountFields = {
  name: required(200),
  domain: text(253).nullable(),
  plan: text(50).nullable(),
  tags,
  metadata,
};

export const accountCreate = z.strictObject({
  ...accountFields,
  domain: accountFields.domain.default(null),
  plan: accountFields.plan.default(null),
  tags: tags.default([]),
  metadata: metadata.default({}),
});
export const accountUpdate = z.strictObject(accountFields).partial();

// ---- policies (rules the agents follow: refunds, escalation, tone) -------------------------------------

const policyFields = {
  name: required(200),
  description: text(2000).nullable(),
  body: body(20_000),
  enabled: z.boolean(),
  metadata,
};

export const policyCreate = z.strictObject({
  ...policyFields,
  description: policyFields.description.default(null),
  enabled: policyFields.enabled.default(true),
  metadata: metadata.default({}),
});
export const policyUpdate = z.strictObject(policyFields).partial();
