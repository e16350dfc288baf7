// Keeps the alerts fresh for the navigation badge: at start, every minute, and a few seconds
// after live changes (many changes in a burst make one read). A server without alerts (404)
// is asked no more; other failures keep what is shown and try again on the next round.

import type { Alert } from "../api/types";
import { ApiError } from "../api/errors";
import type { Timers } from "../live/liveStream";

export type AlertsSource = { alerts(): Promise<{ alerts: Alert[] }> };

export type AlertsView = { alerts: Alert[] | null; unavailable: boolean };

export type AlertsLoaderOptions = {
  source: AlertsSource;
  onAlerts: (view: AlertsView) => void;
  timers?: Timers;
  pollMs?: number;
  afterChangeMs?: number;
};

export class AlertsLoader {
  private pollTimer: unknown = null;
  private soonTimer: unknown = null;
  private stopped = true;
  private unavailable = false;
  private inFlight: Promise<void> | null = null;
  /** Bumped when the question changes (another school chosen): older answers are dropped. */
  private generation = 0;
  private readonly timers: Timers;

  constructor(private readonly opts: AlertsLoaderOptions) {
    this.timers = opts.timers ?? {
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
    };
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

  /** The question changed (another school): an answer on its way is dropped, and the alerts
   * are read again as soon as it is back. */
  async renew(): Promise<void> {
    this.generation++;
    const generation = this.generation;
    if (this.inFlight) await this.inFlight;
    if (generation === this.generation) await this.refresh();
  }

  refresh(): Promise<void> {
    if (this.unavailable || this.stopped) return Promise.resolve();
    if (this.inFlight) return this.inFlight;
    const generation = this.generation;
    this.inFlight = this.opts.source
      .alerts()
      .then(
        (res) => {
          if (generation !== this.generation) return;
          if (!this.stopped) this.opts.onAlerts({ alerts: Array.isArray(res?.alerts) ? res.alerts : [], unavailable: false });
        },
        (err) => {
          if (err instanceof ApiError && err.notFound) {
            this.unavailable = true;
            if (!this.stopped) this.opts.onAlerts({ alerts: null, unavailable: true });
          }
        },
      )
      .finally(() => {
        this.inFlight = null;
        this.schedulePoll();
      });
    return this.inFlight;
  }

  /** Attendance changed: read the alerts again shortly. */
  noteChange(): void {
    if (this.stopped || this.unavailable || this.soonTimer !== null) return;
    this.soonTimer = this.timers.setTimeout(() => {
      this.soonTimer = null;
      void this.refresh();
    }, this.opts.afterChangeMs ?? 5_000);
  }

  private schedulePoll(): void {
    if (this.stopped || this.unavailable) return;
    if (this.pollTimer !== null) this.timers.clearTimeout(this.pollTimer);
    this.pollTimer = this.timers.setTimeout(() => {
      this.pollTimer = null;
      void this.refresh();
    }, this.opts.pollMs ?? 60_000);
  }
}
