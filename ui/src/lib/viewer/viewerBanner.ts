// What the window says when it shows a Rollcall server's attendance from this computer's copy
// (a viewer): live, catching up, or the copy shown as it was, with how old it is.
import type { ViewerState } from "../api/generated";
import { clockTime, relativeTime } from "../time/format";

export interface ViewerBanner {
  tone: "info" | "warn";
  title: string;
  text: string;
  /** Show the sign-in form for the server. */
  signIn: boolean;
}

/** How old the copy is, as a sentence part: "from 10:42 (5 min ago)", or null if never filled. */
export function copyAge(lastContactAt: number | null, nowMs: number, timeZone?: string): string | null {
  if (lastContactAt === null) return null;
  return `from ${clockTime(lastContactAt, timeZone)} (${relativeTime(lastContactAt, nowMs, timeZone)})`;
}

export function viewerBanner(viewer: ViewerState | null | undefined, nowMs: number, timeZone?: string): ViewerBanner | null {
  if (!viewer) return null;
  const age = copyAge(viewer.lastContactAt, nowMs, timeZone);
  switch (viewer.connection) {
    case "live":
      return { tone: "info", title: `Connected to ${viewer.server}`, text: viewer.message, signIn: false };
    case "connecting":
      return { tone: "info", title: `Connecting to ${viewer.server}…`, text: viewer.message, signIn: false };
    case "offline":
      return {
        tone: "warn",
        title: age ? `The server cannot be reached: this is the copy ${age}.` : "The server cannot be reached yet.",
        text: viewer.message,
        signIn: false,
      };
    case "signInNeeded":
      return {
        tone: "warn",
        title: age ? `Not signed in: this is the copy ${age}.` : "Not signed in to the server.",
        text: viewer.message,
        signIn: true,
      };
  }
}
