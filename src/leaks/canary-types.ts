/**
 * A canary key presented somewhere (PRODUCT.md "Canary keys"): what the alarm is told. The alarm itself
 * is src/leaks/canary.ts; the leak reports (src/leaks/) tell it too when a reported token is a canary.
 */
export interface CanaryHit {
  keyId: string;
  workspaceId: string;
  /** Where it was presented: a call to /api/v1, a verify call, the gateway, or a leak report naming it. */
  door: 'api' | 'verify' | 'gateway' | 'leak_report';
  sourceIp: string | null;
  userAgent: string | null;
  method: string | null;
  /** The path called (redacted as the audit log's), or null. */
  path: string | null;
  /** For a leak report: where the key was found. */
  url?: string | null;
  at: Date;
}

export interface CanaryAlarm {
  /** Records the hit (a high-severity finding) and emits canary.triggered; never throws into the caller. */
  trip(hit: CanaryHit): Promise<void>;
}
