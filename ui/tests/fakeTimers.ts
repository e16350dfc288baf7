import type { Timers } from "../src/lib/live/liveStream";

/** A clock the test moves by hand, so backoff and polling are checked without waiting. */
export class ManualClock implements Timers {
  now = 1_750_000_000_000;
  private tasks: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.tasks.push({ at: this.now + ms, fn, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.tasks = this.tasks.filter((t) => t.id !== handle);
  }

  /** Moves time forward, running what falls due in order. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      this.tasks.sort((a, b) => a.at - b.at);
      const next = this.tasks[0];
      if (!next || next.at > until) break;
      this.tasks.shift();
      this.now = next.at;
      next.fn();
    }
    this.now = until;
  }

  get pending(): number {
    return this.tasks.length;
  }
}
