/** Framed, the SaaS's own page is around the key pages; on a page of their own they need a way back. */
export function isTopLevel(): boolean {
  return window.top === window.self;
}

/** The session's `return_url` if it is an http(s) address: never a `javascript:` or other link into the page. */
export function returnHrefOf(url: string | null): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}
