/** The token of an `Authorization: Bearer <token>` header (RFC 6750), or null when there is none. */
export function bearerToken(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  const match = /^Bearer +([^\s]+) *$/i.exec(value);
  return match?.[1] ?? null;
}
