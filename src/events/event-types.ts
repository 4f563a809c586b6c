/** What Latchkey tells a workspace's and an installation's endpoints (PRODUCT.md "Events out"). */
export const EVENT_TYPES = [
  'api_key.created',
  'api_key.updated',
  'api_key.rotated',
  'api_key.secret_revoked',
  'api_key.revoked',
  'api_key.expiring',
  'api_key.expired',
  'api_key.rotation_due',
  'api_key.unused',
  'api_key.leaked',
  'canary.triggered',
  'anomaly.detected',
  'member.added',
  'member.role_changed',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** The reference product's own events, for the endpoints made through `/api/v1/webhooks`. */
export const PRODUCT_EVENT_TYPES = ['conversation.created', 'contact.upserted', 'ticket.created', 'ticket.updated'] as const;

export type ProductEventType = (typeof PRODUCT_EVENT_TYPES)[number];

/** An endpoint that lists `*` receives every type its audience receives, including types added later. */
export const ALL_EVENTS = '*';

/** Sent by "Send a test event" only; no endpoint subscribes to it. */
export const TEST_EVENT_TYPE = 'latchkey.test';

/** The JSON every endpoint receives: never a secret. */
export interface EventBody {
  id: string;
  type: EventType | ProductEventType | typeof TEST_EVENT_TYPE;
  created_at: string;
  workspace: { id: string; external_id: string | null } | null;
  /** The reference product's view, for its own events. */
  mode?: 'live' | 'test';
  data: Record<string, unknown>;
}
