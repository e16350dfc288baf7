// Keeps the NameBook fresh: reads GET /api/reference at start, every 30 s, when the server
// says names changed, and soon after a row shows an id without a name (at most once per
// `unknownIdMinGapMs`, so a school whose DreamClass API is not set up is not asked in a loop).
// A 404 (older server) or any failure keeps the current names: labels fall back to ids.

import type { Reference } from "../api/types";
import type { Timers } from "../live/liveStream";
import { NameBook } from "./nameBook";

export type ReferenceSource = { reference(): Promise<Reference> };

export type ReferenceLoaderOptions = {
  source: ReferenceSource;
  onNames: (book: NameBook) => void;
  timers?: Timers;
  now?: () => number;
  pollMs?: number;
  unknownIdDelayMs?: number;
  unknownIdMinGapMs?: number;
};

export class ReferenceLoader {
  private pollTimer: unknown = null;
  private soonTimer: unknown = null;
  private inFlight: Promise<void> | null = null;
  private lastFetchAt = -Infinity;
  private stopped = true;
  private readonly timers: Timers;
  private readonly now: () => number;

  constructor(private readonly opts: ReferenceLoaderOptions) {
    this.timers = opts.timers ?? {
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
    };
    this.now = opts.now ?? (() => Date.now());
  }

  start(): Promise<void> {
    this.stopped = false;
    return this.refresh();
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.pollTimer, this.soonTimer]) if (t !== null) this.timers.clearTimeout(t);
    this.pollTimer = null;
    this.soonTimer = null;
  }

  /** Reads the names now (server said they changed). Also restarts the 30 s cycle. */
  refresh(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.lastFetchAt = this.now();
    this.inFlight = this.opts.source
      .reference()
      .then(
        (ref) => {
          if (!this.stopped) this.opts.onNames(NameBook.of(ref));
        },
        () => {
          // Names are a comfort, not a need: keep what is shown and try again later.
        },
      )
      .finally(() => {
        this.inFlight = null;
        this.schedulePoll();
      });
    return this.inFlight;
  }

  /** A row has an id without a name: ask again soon, unless asked recently. */
  noteUnknownId(): void {
    if (this.stopped || this.soonTimer !== null || this.inFlight) return;
    const gap = this.opts.unknownIdMinGapMs ?? 10_000;
    const earliest = this.lastFetchAt + gap;
    const delay = Math.max(this.opts.unknownIdDelayMs ?? 1_000, earliest - this.now());
    this.soonTimer = this.timers.setTimeout(() => {
      this.soonTimer = null;
      if (!this.stopped) void this.refresh();
    }, delay);
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    if (this.pollTimer !== null) this.timers.clearTimeout(this.pollTimer);
    this.pollTimer = this.timers.setTimeout(() => {
      this.pollTimer = null;
      void this.refresh();
    }, this.opts.pollMs ?? 30_000);
  }
}
