import type {
  ApiKey,
  ApiKeyWithSecret,
  AuditEvent,
  AuditEventDetail,
  AuditFilters,
  CreatedInvitation,
  DeliveryStatus,
  EmbedSessionInfo,
  EndpointInput,
  EventDelivery,
  EventEndpoint,
  EventEndpointWithSecret,
  FindingsPage,
  Finding,
  FindingStatus,
  Invitation,
  InvitationView,
  Joined,
  KeyInput,
  KeyUsage,
  Me,
  Member,
  Page,
  ProductInfo,
  Role,
  ScopeInfo,
} from './types.ts';

/** An answer of the API that is not a success, with its code, message and the field it is about. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param?: string,
    readonly requestId?: string,
    /** The error's other facts, by name (embed_link_used's `return_url`). */
    readonly fields: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; param?: string; request_id?: string; [field: string]: unknown };
}

/** The session's CSRF token: set by setup, login and `me`; sent on every request that changes something. */
let csrfToken = '';
let onSignedOut: () => void = () => {};
/**
 * Embedded key management's bearer token. While set, every call sends it and no cookie: in a third-party
 * frame the browser may block cookies, and a bearer token needs no CSRF token.
 */
let embedToken = '';
let onEmbedEnded: () => void = () => {};

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when the API says the session is gone (expired, signed out elsewhere). */
export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

/** Embedded mode: calls carry this token from now on ('' goes back to the cookie session). */
export function setEmbedToken(token: string): void {
  embedToken = token;
}

/** Called when the API says the embedded session is over (expired, ended, unknown). */
export function whenEmbedEnded(callback: () => void): void {
  onEmbedEnded = callback;
}

/** The headers and credentials of a request: the embedded session's token, or the cookie and its CSRF token. */
function authOf(method: string): { headers: Record<string, string>; credentials: RequestCredentials } {
  if (embedToken) return { headers: { authorization: `Bearer ${embedToken}` }, credentials: 'omit' };
  return { headers: method === 'GET' ? {} : { 'x-csrf-token': csrfToken }, credentials: 'same-origin' };
}

async function call<T>(method: string, path: string, body?: unknown, anonymous = false): Promise<T> {
  const auth = anonymous ? { headers: {}, credentials: 'omit' as const } : authOf(method);
  const headers: Record<string, string> = { accept: 'application/json', ...auth.headers };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: auth.credentials,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The server cannot be reached. Check your connection and try again.');
  }
  if (response.status === 204) return undefined as T;
  const parsed: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (parsed as ErrorBody | null)?.error;
    const apiError = new ApiError(
      response.status,
      error?.code ?? 'unknown_error',
      error?.message ?? `The server answered ${response.status}.`,
      error?.param,
      error?.request_id,
      error ?? {},
    );
    // The sign-in calls and an invitation's own answer say "not signed in" as a fact, not as a lost session.
    if (apiError.code === 'not_authenticated' && !path.startsWith('/v1/auth/') && !path.startsWith('/v1/invitations/')) onSignedOut();
    if (apiError.code === 'embed_session_invalid') onEmbedEnded();
    throw apiError;
  }
  return parsed as T;
}

const ws = (workspaceId: string) => `/v1/workspaces/${encodeURIComponent(workspaceId)}`;
const keyPath = (workspaceId: string, keyId: string) => `${ws(workspaceId)}/api-keys/${encodeURIComponent(keyId)}`;
const endpointPath = (workspaceId: string, endpointId: string) => `${ws(workspaceId)}/event-endpoints/${encodeURIComponent(endpointId)}`;

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const api = {
  setupNeeded: () => call<{ needs_setup: boolean }>('GET', '/v1/setup'),
  product: () => call<ProductInfo>('GET', '/v1/product'),
  setup: (body: { email: string; password: string; workspace_name: string }) => call<{ csrf_token: string }>('POST', '/v1/setup', body),
  login: (body: { email: string; password: string }) => call<{ csrf_token: string }>('POST', '/v1/auth/login', body),
  logout: () => call<void>('POST', '/v1/auth/logout'),
  me: () => call<Me>('GET', '/v1/auth/me'),
  scopes: () => call<Page<ScopeInfo>>('GET', '/v1/scopes'),

  listKeys: (workspaceId: string, status: 'active' | 'revoked' | 'all', cursor?: string) =>
    call<Page<ApiKey>>('GET', `${ws(workspaceId)}/api-keys${query({ status, limit: 100, cursor })}`),
  createKey: (workspaceId: string, body: KeyInput) => call<ApiKeyWithSecret>('POST', `${ws(workspaceId)}/api-keys`, body),
  getKey: (workspaceId: string, keyId: string) => call<ApiKey>('GET', keyPath(workspaceId, keyId)),
  updateKey: (workspaceId: string, keyId: string, body: KeyInput) => call<ApiKey>('PATCH', keyPath(workspaceId, keyId), body),
  revokeKey: (workspaceId: string, keyId: string) => call<ApiKey>('DELETE', keyPath(workspaceId, keyId)),
  rotateKey: (workspaceId: string, keyId: string, overlapSeconds: number) =>
    call<ApiKeyWithSecret>('POST', `${keyPath(workspaceId, keyId)}/rotate`, { overlap_seconds: overlapSeconds }),
  revokeSecret: (workspaceId: string, keyId: string, secretId: string) =>
    call<ApiKey>('POST', `${keyPath(workspaceId, keyId)}/secrets/${encodeURIComponent(secretId)}/revoke`),
  usage: (workspaceId: string, keyId: string, days = 30) => call<KeyUsage>('GET', `${keyPath(workspaceId, keyId)}/usage${query({ days })}`),

  auditEvents: (workspaceId: string, filters: AuditFilters, cursor?: string) =>
    call<Page<AuditEvent>>('GET', `${ws(workspaceId)}/audit-events${query({ ...filters, limit: 50, cursor })}`),
  auditEvent: (workspaceId: string, eventId: string) =>
    call<AuditEventDetail>('GET', `${ws(workspaceId)}/audit-events/${encodeURIComponent(eventId)}`),
  /** The export as a stream (the caller counts rows as they come and saves the file). */
  exportAudit: (workspaceId: string, filters: AuditFilters, format: 'ndjson' | 'csv', signal: AbortSignal) =>
    download(`${ws(workspaceId)}/audit-events/export${query({ ...filters, format })}`, signal),

  listEndpoints: (workspaceId: string) => call<Page<EventEndpoint>>('GET', `${ws(workspaceId)}/event-endpoints${query({ limit: 100 })}`),
  createEndpoint: (workspaceId: string, body: EndpointInput) => call<EventEndpointWithSecret>('POST', `${ws(workspaceId)}/event-endpoints`, body),
  getEndpoint: (workspaceId: string, endpointId: string) => call<EventEndpoint>('GET', endpointPath(workspaceId, endpointId)),
  updateEndpoint: (workspaceId: string, endpointId: string, body: EndpointInput) => call<EventEndpoint>('PATCH', endpointPath(workspaceId, endpointId), body),
  deleteEndpoint: (workspaceId: string, endpointId: string) => call<void>('DELETE', endpointPath(workspaceId, endpointId)),
  rotateEndpointSecret: (workspaceId: string, endpointId: string) =>
    call<EventEndpointWithSecret>('POST', `${endpointPath(workspaceId, endpointId)}/rotate-secret`),
  sendTestEvent: (workspaceId: string, endpointId: string) => call<EventDelivery>('POST', `${endpointPath(workspaceId, endpointId)}/test`),
  deliveries: (workspaceId: string, endpointId: string, status: DeliveryStatus | undefined, cursor?: string) =>
    call<Page<EventDelivery>>('GET', `${endpointPath(workspaceId, endpointId)}/deliveries${query({ status, limit: 25, cursor })}`),
  retryDelivery: (workspaceId: string, endpointId: string, deliveryId: string) =>
    call<EventDelivery>('POST', `${endpointPath(workspaceId, endpointId)}/deliveries/${encodeURIComponent(deliveryId)}/retry`),

  findings: (workspaceId: string, filters: { status?: FindingStatus | 'all'; key_id?: string; limit?: number }, cursor?: string) =>
    call<FindingsPage>('GET', `${ws(workspaceId)}/anomalies${query({ limit: 25, ...filters, cursor })}`),
  setFindingStatus: (workspaceId: string, findingId: string, status: FindingStatus) =>
    call<Finding>('PATCH', `${ws(workspaceId)}/anomalies/${encodeURIComponent(findingId)}`, { status }),

  members: (workspaceId: string) => call<Page<Member>>('GET', `${ws(workspaceId)}/members`),
  invite: (workspaceId: string, body: { email: string; role: Role }) => call<CreatedInvitation>('POST', `${ws(workspaceId)}/members`, body),
  changeRole: (workspaceId: string, userId: string, role: Role) =>
    call<unknown>('PATCH', `${ws(workspaceId)}/members/${encodeURIComponent(userId)}`, { role }),
  removeMember: (workspaceId: string, userId: string) => call<void>('DELETE', `${ws(workspaceId)}/members/${encodeURIComponent(userId)}`),
  invitations: (workspaceId: string) => call<Page<Invitation>>('GET', `${ws(workspaceId)}/invitations`),
  revokeInvitation: (workspaceId: string, invitationId: string) =>
    call<unknown>('DELETE', `${ws(workspaceId)}/invitations/${encodeURIComponent(invitationId)}`),

  /** The code of an embed link (it works once) for the session's token; sent without any earlier session's token or cookie. */
  embedExchange: (code: string) => call<{ token: string; session: EmbedSessionInfo }>('POST', '/v1/embed/exchange', { code }, true),
  embedSession: () => call<EmbedSessionInfo>('GET', '/v1/embed/session'),

  invitation: (token: string) => call<InvitationView>('GET', `/v1/invitations/${encodeURIComponent(token)}`),
  acceptInvitation: (token: string, body: { password?: string }) => call<Joined>('POST', `/v1/invitations/${encodeURIComponent(token)}/accept`, body),
};

/** A GET whose body the caller reads as a stream; a refusal throws the API's error as `call` does. */
async function download(path: string, signal: AbortSignal): Promise<Response> {
  const auth = authOf('GET');
  const response = await fetch(path, { headers: auth.headers, credentials: auth.credentials, signal });
  if (response.ok) return response;
  const error = ((await response.json().catch(() => null)) as ErrorBody | null)?.error;
  if (error?.code === 'embed_session_invalid') onEmbedEnded();
  throw new ApiError(response.status, error?.code ?? 'unknown_error', error?.message ?? `The export failed (${response.status}).`, error?.param, error?.request_id);
}

/** The message to show for anything thrown by a call. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong. Reload the page and try again.';
}

/** The API's `param` ("rate_limit.per_minute", "scopes.2") as the name of the form field it is about. */
export function fieldOf(error: unknown): string | undefined {
  if (!(error instanceof ApiError) || !error.param) return undefined;
  return error.param.replace(/\.\d+$/, '');
}
