// Turns what can go wrong between the window and Rollcall into sentences an office user can
// act on. The server's own `message` is preferred: it knows the cause best.

export class ApiError extends Error {
  constructor(
    /** HTTP status, or 0 when Rollcall did not answer at all. */
    readonly status: number,
    /** The server's error code (e.g. "token_required"), or a local one. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  get notFound(): boolean {
    return this.status === 404;
  }
}

const NOT_ANSWERING =
  "Rollcall is not answering. Check that the Rollcall app is still open on this computer, then try again.";
const SIGNED_OUT =
  "This window is no longer signed in to Rollcall (Rollcall was probably restarted). Close this window and open Rollcall again from its icon.";
const FORBIDDEN =
  "Rollcall refused this page because it was not opened from Rollcall itself. Open Rollcall from its icon instead of a bookmark or link.";
const NOT_AVAILABLE = "This version of Rollcall does not offer this yet.";
const STORAGE =
  "Rollcall cannot save data right now. Check that this computer's disk is not full, then close and reopen Rollcall.";
const UNEXPECTED =
  "Something went wrong inside Rollcall. Try again in a moment; if it keeps happening, close and reopen Rollcall.";

/** The user-facing sentence for an HTTP answer that was not a success. */
export function messageForStatus(status: number, code: string, serverMessage: string | null): string {
  // With sign-in, the server says best why: the session ended, or the role does not allow it.
  const signInAnswer = ["sign_in_required", "sign_in_failed", "role_required", "csrf_invalid", "setup_key_invalid"];
  if (signInAnswer.includes(code) && serverMessage) return serverMessage;
  if (status === 401) return SIGNED_OUT;
  if (status === 403) return FORBIDDEN;
  if (serverMessage && serverMessage.trim() !== "") return serverMessage;
  if (status === 404) return NOT_AVAILABLE;
  if (status === 503 || code === "storage_failing") return STORAGE;
  return UNEXPECTED;
}

export function notAnsweringError(): ApiError {
  return new ApiError(0, "unreachable", NOT_ANSWERING);
}

/** Builds the ApiError for a failed response, reading the `{error, message}` body if any. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let serverMessage: string | null = null;
  try {
    const body: unknown = await res.json();
    if (body && typeof body === "object") {
      const b = body as { error?: unknown; message?: unknown };
      if (typeof b.error === "string") code = b.error;
      if (typeof b.message === "string") serverMessage = b.message;
    }
  } catch {
    // Not JSON (e.g. a plain 404 page): the status alone decides the sentence.
  }
  return new ApiError(res.status, code, messageForStatus(res.status, code, serverMessage));
}

/** A sentence for any thrown value, so views never show "[object Object]" or a stack. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return UNEXPECTED;
}
