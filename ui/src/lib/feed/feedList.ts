// The rows of the live feed, newest first, and how live rows join them.
//
// A live row is shown at once only when the user is looking at the top of the feed and has
// not paused it; otherwise it is held, counted as "N new", and shown when the user comes
// back to the top, resumes, or clicks the count. That way nothing moves under the eyes of
// someone reading older rows. Every row is known by its seq, so a row that arrives twice
// (page and stream overlapping, stream catch-up after a reconnect) is kept once.

import type { Change } from "../api/types";

export type LiveOutcome = "shown" | "held" | "filtered" | "duplicate";

type Listener = () => void;

/** Inserts `rows` (any order) into `target`, which is sorted by seq, newest first. */
function mergeNewestFirst(target: Change[], rows: Change[]): Change[] {
  if (rows.length === 0) return target;
  const sorted = [...rows].sort((a, b) => b.seq - a.seq);
  const last = target[target.length - 1];
  // Pages of older rows, the common case: they all go after what is there.
  if (last === undefined || sorted[0]!.seq < last.seq) {
    for (const r of sorted) target.push(r);
    return target;
  }
  const first = target[0]!;
  // Live rows, the other common case: they all go before what is there.
  if (sorted[sorted.length - 1]!.seq > first.seq) {
    target.unshift(...sorted);
    return target;
  }
  const merged: Change[] = [];
  let i = 0;
  let j = 0;
  while (i < target.length || j < sorted.length) {
    const a = target[i];
    const b = sorted[j];
    if (b === undefined || (a !== undefined && a.seq > b.seq)) {
      merged.push(a!);
      i++;
    } else {
      merged.push(b);
      j++;
    }
  }
  return merged;
}

export class FeedList {
  private rows: Change[] = [];
  private held: Change[] = [];
  private seen = new Set<number>();
  private paused = false;
  private readingOlder = false;
  private listeners = new Set<Listener>();

  constructor(private accepts: (c: Change) => boolean = () => true) {}

  /** Rows on screen, newest first. Do not mutate. */
  get items(): readonly Change[] {
    return this.rows;
  }

  /** How many live rows wait behind the "N new" button. */
  get newCount(): number {
    return this.held.length;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** The lowest seq on screen: where the next older page starts. */
  get oldestSeq(): number | null {
    return this.rows.length === 0 ? null : this.rows[this.rows.length - 1]!.seq;
  }

  /** Starts over with another rule (new filters): what was shown or held is dropped. */
  reset(accepts: (c: Change) => boolean): void {
    this.accepts = accepts;
    this.rows = [];
    this.held = [];
    this.seen.clear();
    this.notify();
  }

  /** Rows read from the server (first screen or older pages), already newest first. */
  addPage(changes: readonly Change[]): number {
    const fresh = changes.filter((c) => this.accepts(c) && !this.seen.has(c.seq));
    for (const c of fresh) this.seen.add(c.seq);
    this.rows = mergeNewestFirst(this.rows, fresh);
    if (fresh.length > 0) this.notify();
    return fresh.length;
  }

  /** A row from the live stream. */
  receiveLive(change: Change): LiveOutcome {
    if (this.seen.has(change.seq)) return "duplicate";
    if (!this.accepts(change)) return "filtered";
    this.seen.add(change.seq);
    if (this.paused || this.readingOlder) {
      this.held = mergeNewestFirst(this.held, [change]);
      this.notify();
      return "held";
    }
    this.rows = mergeNewestFirst(this.rows, [change]);
    this.notify();
    return "shown";
  }

  setPaused(paused: boolean): void {
    if (this.paused === paused) return;
    this.paused = paused;
    this.releaseIfWatching();
    this.notify();
  }

  /** The view reports whether the user has scrolled away from the newest rows. */
  setReadingOlder(readingOlder: boolean): void {
    if (this.readingOlder === readingOlder) return;
    this.readingOlder = readingOlder;
    if (this.releaseIfWatching()) this.notify();
  }

  /** The "N new" button: show every held row now, even if paused (the user asked). */
  showHeld(): number {
    const n = this.held.length;
    if (n === 0) return 0;
    this.rows = mergeNewestFirst(this.rows, this.held);
    this.held = [];
    this.readingOlder = false;
    this.notify();
    return n;
  }

  /** Called after every change of rows, held rows or pause. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private releaseIfWatching(): boolean {
    if (this.paused || this.readingOlder || this.held.length === 0) return false;
    this.rows = mergeNewestFirst(this.rows, this.held);
    this.held = [];
    return true;
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }
}
