import type { Executor } from '../db/client.js';
import type { EventType } from '../events/event-types.js';
import { emitEvent } from '../events/outbox.js';
import { newId } from '../ids.js';
import { redactSecrets } from './redact.js';

/** Who did something in the console or the management API, and from where. */
export interface ActionContext {
  actor: { id: string; email: string } | null;
  /** An API key acting on itself (self-rotation), when no person is the actor. */
  viaKey?: string;
  /** A service key acting for the SaaS backend, when no person is the actor. */
  serviceKey?: { id: string; name: string };
  /** Latchkey-On-Behalf-Of: the SaaS's own user who asked the service key to act. */
  onBehalfOf?: string | undefined;
  /** The SaaS's own user an embedded session acts for, through the service key that minted it. */
  externalUser?: { externalId: string; email: string | null };
  embedSessionId?: string;
  sourceIp: string;
  userAgent: string | undefined;
  requestId: string;
}

export type ManagementAction =
  | 'setup'
  | 'login'
  | 'login_failed'
  | 'logout'
  | 'workspace.create'
  | 'workspace.update'
  | 'member.add'
  | 'member.role_change'
  | 'member.invited'
  | 'member.invite_revoked'
  | 'member.joined'
  | 'member.removed'
  | 'api_key.create'
  | 'api_key.update'
  | 'api_key.rotate'
  | 'api_key.secret_revoke'
  | 'api_key.revoke'
  // A secret version reported leaked (src/leaks/), no actor: GitHub's secret scanning or anyone's report.
  | 'api_key.leaked'
  | 'workspace.policy_update'
  | 'workspace.ceiling_change'
  | 'workspace.demo_data'
  | 'embed.link_created'
  | 'embed.session_started'
  | 'embed.link_reused'
  | 'event_endpoint.create'
  | 'event_endpoint.update'
  | 'event_endpoint.delete'
  | 'event_endpoint.rotate_secret'
  | 'event_endpoint.test'
  | 'event_endpoint.delivery_retry'
  // The delivery worker, no actor: an endpoint whose every delivery failed for 3 days (src/events/delivery-worker.ts).
  | 'event_endpoint.disabled'
  // Anomaly findings (src/anomalies/).
  | 'anomaly.status_change';

export interface ManagementEventInput {
  workspaceId: string | null;
  action: ManagementAction;
  target?: { type: 'user' | 'workspace' | 'api_key' | 'api_key_secret' | 'invitation' | 'embed_session' | 'event_endpoint' | 'anomaly'; id: string };
  /** What changed, by name; never a secret, a password or a hash of either. */
  details?: Record<string, unknown>;
  /**
   * The event this action sends to the workspace's endpoints, written to the outbox in the same
   * transaction; its data gains `actor`. Never a secret: what the API shows of the object.
   */
  event?: { type: EventType; data: Record<string, unknown> };
}

/** Written inside the transaction of the action it records, so neither exists without the other. */
export async function recordManagementEvent(ex: Executor, context: ActionContext, event: ManagementEventInput): Promise<void> {
  await ex
    .insertInto('management_events')
    .values({
      id: newId('mev'),
      workspace_id: event.workspaceId,
      actor_user_id: context.actor?.id ?? null,
      actor_email: context.actor?.email ?? context.externalUser?.email ?? null,
      actor_external_id: context.actor ? null : (context.externalUser?.externalId ?? null),
      actor_service_key_id: context.actor ? null : (context.serviceKey?.id ?? null),
      // Text the SaaS sends about its own user: stored like the user agent, with anything key-shaped masked.
      on_behalf_of: context.actor || !context.serviceKey || context.onBehalfOf === undefined ? null : redactSecrets(context.onBehalfOf),
      action: event.action,
      target_type: event.target?.type ?? null,
      target_id: event.target?.id ?? null,
      source_ip: context.sourceIp,
      user_agent: context.userAgent === undefined ? null : redactSecrets(context.userAgent).slice(0, 512),
      request_id: context.requestId,
      details: JSON.stringify({
        ...event.details,
        ...(context.viaKey ? { via_api_key: context.viaKey } : {}),
        ...(context.embedSessionId ? { embed_session_id: context.embedSessionId } : {}),
      }),
    })
    .execute();
  if (event.event) {
    await emitEvent(ex, { type: event.event.type, workspaceId: event.workspaceId, data: { ...event.event.data, actor: eventActor(context) } });
  }
}

/** Who acted, as an event tells it: a person, or a service key (for the SaaS's own user, when it said). */
export function eventActor(context: ActionContext): Record<string, unknown> {
  if (context.actor) return { type: 'user', id: context.actor.id, email: context.actor.email };
  if (context.serviceKey) {
    return {
      type: 'service_key',
      id: context.serviceKey.id,
      name: context.serviceKey.name,
      ...(context.externalUser ? { external_user: { external_id: context.externalUser.externalId, email: context.externalUser.email } } : {}),
      ...(context.onBehalfOf !== undefined ? { on_behalf_of: redactSecrets(context.onBehalfOf) } : {}),
    };
  }
  if (context.viaKey) return { type: 'api_key', id: context.viaKey };
  return { type: 'system' };
}

/** A management action's actor, as keys record who created or revoked them: a person or a service key. */
export type ActorContext = ActionContext & ({ actor: { id: string; email: string } } | { actor: null; serviceKey: { id: string; name: string } });

/** The id of who acted: the person's (usr_…) or the service key's (svk_…). */
export function actorId(context: ActorContext): string {
  return context.actor ? context.actor.id : context.serviceKey.id;
}
