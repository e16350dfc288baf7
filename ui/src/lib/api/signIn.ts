// What the page needs to know when people sign in (a Rollcall that others reach): the
// session's CSRF token, sent with every change, and what to do when the session ends. On the
// office PC (this run's link) neither is used.

let csrfToken: string | null = null;
let onEnded: (() => void) | null = null;

/** The token `/api/session` or the sign-in answer gave; null on the office PC. */
export function useCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** The header a request with this method must carry. */
export function csrfHeader(method: string): Record<string, string> {
  return method !== "GET" && method !== "HEAD" && csrfToken ? { "X-Rollcall-Csrf": csrfToken } : {};
}

/** Called once when the server says the session has ended (expired, signed out elsewhere). */
export function whenSignInEnds(callback: () => void): void {
  onEnded = callback;
}

export function signInEnded(): void {
  const callback = onEnded;
  onEnded = null;
  callback?.();
}
