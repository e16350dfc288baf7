// The live stream (`GET /api/stream?after=SEQ`, Server-Sent Events), kept open for the whole
// session. The browser's own EventSource retry is not used: on any error the stream is
// closed and reopened here with `after` = the last seq received, after a growing delay, so
// the state shown to the user is exact and the catch-up starts where the rows stopped. Rows
// at or below the last seq are dropped, so a replay never shows a row twice.
//
// The server sends `event: ping` every 15 s on a quiet stream. A connection that has gone
// silent (a laptop waking from sleep, a proxy that dropped it without closing) fires no
// error: if nothing at all arrives for `silenceLimitMs` (40 s), the stream counts as lost
// and is reopened like after an error.

import type { Change, LessonsNotTakenNotice } from "../api/types";
import { reconnectDelayMs, type ConnectionState } from "./connectionState";

/** The part of EventSource used here, so tests can drive a fake one. */
export type EventSourceLike = {
  onopen: ((ev: Event) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  addEventListener(type: string, listener: (ev: MessageEvent<string>) => void): void;
  close(): void;
};

export type Timers = {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
};

export type LiveStreamOptions = {
  openEventSource: (url: string) => EventSourceLike;
  onChange: (change: Change) => void;
  onState: (state: ConnectionState) => void;
  /** The server says names changed (`event: reference`). */
  onReference?: () => void;
  /** The server says its status changed (`event: status`), e.g. new webhook settings. */
  onStatus?: () => void;
  /** The lesson cutoff passed with lessons still without attendance (`event: lessonsNotTaken`). */
  onLessonsNotTaken?: (notice: LessonsNotTakenNotice) => void;
  /** Called after a reconnect has been established (e.g. to refresh the status). */
  onReconnected?: () => void;
  timers?: Timers;
  now?: () => number;
  path?: string;
  /** Failed tries shown as "Reconnecting…" before the state becomes "Offline since …". */
  triesBeforeOffline?: number;
  /** Silence (no event, not even a ping) after which the connection is taken for dead. */
  silenceLimitMs?: number;
};

export const SILENCE_LIMIT_MS = 40_000;

const browserTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A `lessonsNotTaken` event's data, or null when it is not one. */
export function parseNotTakenNotice(data: string): LessonsNotTakenNotice | null {
  try {
    const v = JSON.parse(data) as Partial<LessonsNotTakenNotice> | null;
    if (v && typeof v.date === "string" && typeof v.message === "string" && typeof v.count === "number") {
      return { date: v.date, cutoff: String(v.cutoff ?? ""), count: v.count, message: v.message };
    }
  } catch {
    // Ignored below, like a change that is not JSON.
  }
  console.warn("Rollcall: ignored a lessons-not-taken message that is not one", data);
  return null;
}

function isChange(value: unknown): value is Change {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Change).seq === "number" &&
    typeof (value as Change).attendanceId === "number"
  );
}

export class LiveStream {
  private source: EventSourceLike | null = null;
  private retryTimer: unknown = null;
  private silenceTimer: unknown = null;
  private attempt = 0;
  private lostAt: number | null = null;
  private stopped = true;
  private lastSeqSeen = 0;
  private readonly timers: Timers;
  private readonly now: () => number;

  constructor(private readonly opts: LiveStreamOptions) {
    this.timers = opts.timers ?? browserTimers;
    this.now = opts.now ?? (() => Date.now());
  }

  /** The highest seq received: a reconnect asks for everything after it. */
  get lastSeq(): number {
    return this.lastSeqSeen;
  }

  /** Opens the stream for changes after `afterSeq` (the newest seq the window already has). */
  start(afterSeq: number): void {
    this.stopped = false;
    this.lastSeqSeen = Math.max(this.lastSeqSeen, afterSeq);
    this.opts.onState({ kind: "connecting" });
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.cancelRetry();
    this.closeSource();
  }

  /** Restarts the silence watch: called on opening and on every event received. */
  private heard(source: EventSourceLike): void {
    if (source !== this.source) return;
    this.cancelSilenceWatch();
    this.silenceTimer = this.timers.setTimeout(() => {
      this.silenceTimer = null;
      if (source === this.source && !this.stopped) this.connectionLost();
    }, this.opts.silenceLimitMs ?? SILENCE_LIMIT_MS);
  }

  private cancelSilenceWatch(): void {
    if (this.silenceTimer !== null) {
      this.timers.clearTimeout(this.silenceTimer);
      this.silenceTimer = null;
    }
  }

  /** "Try again now": skip the rest of the wait. */
  retryNow(): void {
    if (this.stopped || this.lostAt === null) return;
    this.cancelRetry();
    this.open();
  }

  private open(): void {
    this.closeSource();
    const path = this.opts.path ?? "/api/stream";
    const source = this.opts.openEventSource(`${path}?after=${this.lastSeqSeen}`);
    this.source = source;
    // A connection that never opens nor fails is as dead as one that went quiet.
    this.heard(source);
    source.onopen = () => {
      if (source !== this.source) return;
      this.heard(source);
      const wasLost = this.lostAt !== null;
      this.attempt = 0;
      this.lostAt = null;
      this.opts.onState({ kind: "live" });
      if (wasLost) this.opts.onReconnected?.();
    };
    source.onerror = () => {
      if (source !== this.source) return;
      this.connectionLost();
    };
    source.addEventListener("change", (ev) => {
      if (source !== this.source) return;
      this.heard(source);
      this.receive(ev.data);
    });
    source.addEventListener("reference", () => {
      if (source !== this.source) return;
      this.heard(source);
      this.opts.onReference?.();
    });
    source.addEventListener("status", () => {
      if (source !== this.source) return;
      this.heard(source);
      this.opts.onStatus?.();
    });
    source.addEventListener("lessonsNotTaken", (ev) => {
      if (source !== this.source) return;
      this.heard(source);
      const notice = parseNotTakenNotice(ev.data);
      if (notice) this.opts.onLessonsNotTaken?.(notice);
    });
    source.addEventListener("ping", () => {
      if (source !== this.source) return;
      this.heard(source);
    });
  }

  private receive(data: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      console.warn("Rollcall: ignored a live message that is not JSON", data);
      return;
    }
    if (!isChange(parsed)) {
      console.warn("Rollcall: ignored a live message that is not a change", parsed);
      return;
    }
    // A replay after reconnecting may repeat what was already shown.
    if (parsed.seq <= this.lastSeqSeen) return;
    this.lastSeqSeen = parsed.seq;
    this.opts.onChange(parsed);
  }

  private connectionLost(): void {
    this.closeSource();
    if (this.stopped) return;
    if (this.lostAt === null) this.lostAt = this.now();
    this.attempt++;
    const delay = reconnectDelayMs(this.attempt);
    const limit = this.opts.triesBeforeOffline ?? 3;
    if (this.attempt <= limit) {
      this.opts.onState({ kind: "reconnecting", lostAt: this.lostAt, attempt: this.attempt });
    } else {
      this.opts.onState({ kind: "offline", lostAt: this.lostAt, attempt: this.attempt, nextTryAt: this.now() + delay });
    }
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  private cancelRetry(): void {
    if (this.retryTimer !== null) {
      this.timers.clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }

  private closeSource(): void {
    this.cancelSilenceWatch();
    if (this.source) {
      this.source.onopen = null;
      this.source.onerror = null;
      this.source.close();
      this.source = null;
    }
  }
}
