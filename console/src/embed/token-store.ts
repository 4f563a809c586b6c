/**
 * Where the embedded session's token lives: sessionStorage, so that a reload of the frame keeps the session
 * (the link's code works once only), and that tab only. A browser that blocks third-party storage throws on
 * any access to it in a cross-site frame; the token then lives in memory, and a reload shows the
 * "session ended" page, which says how to open key management again.
 */
const STORAGE_KEY = 'latchkey.embed';
let inMemory = '';

export function saveToken(token: string): void {
  inMemory = token;
  try {
    sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // Storage blocked or full: the token in memory serves until the frame reloads.
  }
}

export function loadToken(): string {
  if (inMemory) return inMemory;
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? '';
  } catch {
    return '';
  }
}

export function forgetToken(): void {
  inMemory = '';
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing was stored where storage is blocked.
  }
}
