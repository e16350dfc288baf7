// The one Session of this window, reachable from any component without passing it down.

import { getContext } from "svelte";
import type { Session } from "./session";

export const SESSION_CONTEXT = Symbol("rollcall-session");

export function getSession(): Session {
  const session = getContext<Session | undefined>(SESSION_CONTEXT);
  if (!session) throw new Error("Session context missing: mount App with it.");
  return session;
}
