// What the window says about its link to Rollcall, always visible in the header.

import { clockTime } from "../time/format";

export type ConnectionState =
  | { kind: "connecting" }
  | { kind: "live" }
  /** Lost at `lostAt`, trying again; shown as "Reconnecting…" for the first few tries. */
  | { kind: "reconnecting"; lostAt: number; attempt: number }
  /** Still down after several tries: shown with the time it was lost. */
  | { kind: "offline"; lostAt: number; attempt: number; nextTryAt: number };

export function connectionLabel(state: ConnectionState, timeZone?: string): string {
  switch (state.kind) {
    case "connecting":
      return "Connecting…";
    case "live":
      return "Live";
    case "reconnecting":
      return "Reconnecting…";
    case "offline":
      return `Offline since ${clockTime(state.lostAt, timeZone)}`;
  }
}

/** Backoff before try `attempt` (1-based): 1 s, 2 s, 4 s … up to 30 s. A single window on
 * loopback needs no jitter; the cap keeps recovery quick once Rollcall is back. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt - 1));
}
