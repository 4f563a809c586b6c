/**
 * The event types a workspace's endpoint can subscribe to, grouped and described for the form. The API's
 * list is src/events/event-types.ts (EVENT_TYPES); test/console-event-types.test.ts keeps the two the same.
 */
export const EVENT_GROUPS: ReadonlyArray<{ group: string; types: ReadonlyArray<{ type: string; description: string }> }> = [
  {
    group: 'API keys',
    types: [
      { type: 'api_key.created', description: 'A key was created' },
      { type: 'api_key.updated', description: 'A key’s settings changed' },
      { type: 'api_key.rotated', description: 'A key got a new secret' },
      { type: 'api_key.secret_revoked', description: 'An old secret was revoked before its overlap ended' },
      { type: 'api_key.revoked', description: 'A key was revoked' },
    ],
  },
  {
    group: 'Key lifecycle',
    types: [
      { type: 'api_key.expiring', description: 'A key expires in 7 days, then in 1 day' },
      { type: 'api_key.expired', description: 'A key passed its expiry' },
      { type: 'api_key.rotation_due', description: 'A key’s secret is due for rotation' },
      { type: 'api_key.unused', description: 'A key has not been used for a while' },
    ],
  },
  {
    group: 'Security',
    types: [
      { type: 'api_key.leaked', description: 'A key was reported leaked' },
      { type: 'canary.triggered', description: 'Someone used a canary key' },
      { type: 'anomaly.detected', description: 'The detector found unusual use of a key' },
    ],
  },
  {
    group: 'Members',
    types: [
      { type: 'member.added', description: 'Someone joined the workspace' },
      { type: 'member.role_changed', description: 'A member’s role changed' },
    ],
  },
];

export const EVENT_TYPE_NAMES: readonly string[] = EVENT_GROUPS.flatMap((group) => group.types.map((t) => t.type));

/** Every type, including those added later. */
export const ALL_EVENTS = '*';

/** "All events", or the types by name. */
export function eventsText(events: readonly string[]): string {
  if (events.includes(ALL_EVENTS)) return 'All events';
  return events.join(', ');
}
