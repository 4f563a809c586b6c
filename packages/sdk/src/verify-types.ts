/**
 * The verify call's body and answer, as PRODUCT.md fixes them ("Verify: any backend, any language").
 * TEMPORARY hand-written copy until /openapi.json documents POST /v1/keys/verify; then these come from schema.d.ts.
 */
export interface VerifyRequest {
  key: string;
  scopes?: string[];
  client_ip?: string;
  method?: string;
  path?: string;
  cost?: number;
}

export interface VerifyAnswer {
  valid: boolean;
  code: string;
  message: string;
  key?: {
    id: string;
    name: string;
    mode: 'live' | 'test';
    prefix: string;
    meta: Record<string, unknown>;
    expires_at: string | null;
    secret_version: number;
  } | null;
  workspace?: { id: string; external_id: string | null } | null;
  scopes?: string[];
  missing_scopes?: string[];
  rate_limit?: { limit: number; remaining: number; reset: number } | null;
  retry_after?: number | null;
  request_id: string;
}
