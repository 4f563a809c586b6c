/**
 * Every error a client can see, in one registry: the code, its HTTP status and its type.
 * Tests assert on these codes; messages are for people and may change.
 */
export const ERRORS = {
  invalid_request: { status: 400, type: 'invalid_request_error' },
  missing_api_key: { status: 401, type: 'authentication_error' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  api_key_revoked: { status: 401, type: 'authentication_error' },
  api_key_expired: { status: 401, type: 'authentication_error' },
  not_authenticated: { status: 401, type: 'authentication_error' },
  invalid_service_key: { status: 401, type: 'authentication_error' },
  invalid_credentials: { status: 401, type: 'authentication_error' },
  // An embedded key-management session that is unknown, expired, ended, or whose service key was revoked.
  embed_session_invalid: { status: 401, type: 'authentication_error' },
  // A GitHub secret-scanning report whose signature does not verify, or whose key identifier GitHub does not publish.
  invalid_signature: { status: 401, type: 'authentication_error' },
  ip_not_allowed: { status: 403, type: 'permission_error' },
  insufficient_scope: { status: 403, type: 'permission_error' },
  insufficient_role: { status: 403, type: 'permission_error' },
  insufficient_permission: { status: 403, type: 'permission_error' },
  csrf_token_invalid: { status: 403, type: 'permission_error' },
  not_current_secret: { status: 403, type: 'permission_error' },
  wrong_account: { status: 403, type: 'permission_error' },
  not_found: { status: 404, type: 'not_found_error' },
  // The gateway: no route of the product file matches the method and path.
  route_not_found: { status: 404, type: 'not_found_error' },
  // An embedded key-management link's code that was never issued.
  embed_link_not_found: { status: 404, type: 'not_found_error' },
  already_set_up: { status: 409, type: 'conflict_error' },
  conflict: { status: 409, type: 'conflict_error' },
  // `workspace_id`: the workspace that holds the external id.
  external_id_taken: { status: 409, type: 'conflict_error', fields: ['workspace_id'] },
  // An embedded key-management link past its 5 minutes, or used once already.
  // `return_url`: where the link's page was to lead back to, when the SaaS gave one.
  embed_link_expired: { status: 410, type: 'invalid_request_error', fields: ['return_url'] },
  embed_link_used: { status: 410, type: 'invalid_request_error', fields: ['return_url'] },
  // A key that breaks its workspace's policy; `rule`: max_key_lifetime, require_expiry or require_ip_allowlist_for_live.
  policy_violation: { status: 400, type: 'invalid_request_error', fields: ['rule'] },
  // A signed GitHub report received before, byte for byte.
  report_replayed: { status: 409, type: 'conflict_error' },
  payload_too_large: { status: 413, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  // The request line and headers together are over Node's 16 KiB (a very long URL or query, a huge header).
  request_header_too_large: { status: 431, type: 'invalid_request_error' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  internal_error: { status: 500, type: 'api_error' },
  // The gateway's upstream refused or dropped the connection, or answered what is not HTTP.
  upstream_unavailable: { status: 502, type: 'api_error' },
  service_unavailable: { status: 503, type: 'api_error' },
  // The gateway's upstream did not answer within its timeout_ms.
  upstream_timeout: { status: 504, type: 'api_error' },
} as const satisfies Record<string, { status: number; type: string; fields?: readonly string[] }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly param: string | undefined;
  readonly headers: Record<string, string>;
  /** Machine-readable facts beside the message (e.g. external_id_taken's `workspace_id`). */
  readonly fields: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: { param?: string; headers?: Record<string, string>; fields?: Record<string, string> } = {}) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.param = options.param;
    this.headers = options.headers ?? {};
    this.fields = options.fields ?? {};
  }

  get status(): number {
    return ERRORS[this.code].status;
  }
}

export function invalidRequest(param: string, message: string): AppError {
  return new AppError('invalid_request', message, { param });
}

export function notFound(what: string): AppError {
  return new AppError('not_found', `No such ${what}.`);
}

export interface ErrorBody {
  error: { type: string; code: ErrorCode; message: string; param?: string; request_id: string; [field: string]: string | undefined };
}

export function errorBody(error: AppError, requestId: string): ErrorBody {
  return {
    error: {
      type: ERRORS[error.code].type,
      code: error.code,
      message: error.message,
      ...(error.param === undefined ? {} : { param: error.param }),
      ...error.fields,
      request_id: requestId,
    },
  };
}
