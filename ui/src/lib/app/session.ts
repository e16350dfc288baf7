// One window's link to Rollcall: the status, the names, the live stream and the feed, wired
// together once and shared by every view. Plain TypeScript; the Svelte side only listens.
//
// Order matters for "nothing lost": the newest seq is read first and the stream starts after
// it; the feed's first page is read only after that, so every change is either in a page
// (committed before the page was read) or comes through the stream (seq above the one read),
// and the overlap is dropped by seq.

import { Api } from "../api/client";
import { describeError, ApiError } from "../api/errors";
import type { Change, Status } from "../api/types";
import { FeedList } from "../feed/feedList";
import { FeedLoader, type FeedQuery } from "../feed/feedLoader";
import { feedQueryKey } from "../feed/feedQuery";
import type { ConnectionState } from "../live/connectionState";
import { LiveStream, type EventSourceLike } from "../live/liveStream";
import { NameBook } from "../names/nameBook";
import { ReferenceLoader } from "../names/referenceLoader";

const STATUS_POLL_MS = 10_000;
const START_RETRY_MS = 2_000;
/** The first screen: enough to fill a tall window several times; older pages come on scroll. */
const FIRST_PAGE_SIZE = 200;
const OLDER_PAGE_SIZE = 1000;

export type SessionView = {
  names: NameBook;
  connection: ConnectionState;
  status: Status | null;
  /** Why the status cannot be read (Rollcall down, signed out), as a sentence. */
  statusError: string | null;
  /** The window's sign-in is gone: nothing will work until it is reopened. */
  signedOut: boolean;
};

export class Session {
  readonly api: Api;
  readonly feed: FeedLoader;
  private view: SessionView = {
    names: NameBook.empty,
    connection: { kind: "connecting" },
    status: null,
    statusError: null,
    signedOut: false,
  };
  private readonly live: LiveStream;
  private readonly references: ReferenceLoader;
  private readonly listeners = new Set<() => void>();
  private readonly changeListeners = new Set<(c: Change) => void>();
  private feedKey: string | null = null;
  private stopped = false;
  private statusTimer: ReturnType<typeof setTimeout> | null = null;
  private resolveReady: () => void = () => {};
  /** Resolves once the stream has a starting point; the feed waits for it. */
  readonly ready = new Promise<void>((r) => (this.resolveReady = r));

  constructor(api = new Api(), openEventSource = (url: string): EventSourceLike => new EventSource(url)) {
    this.api = api;
    this.feed = new FeedLoader(new FeedList(), api, FIRST_PAGE_SIZE, OLDER_PAGE_SIZE);
    this.feed.subscribe(() => this.askForMissingNames(this.feed.list.items.slice(0, 100)));
    this.references = new ReferenceLoader({
      source: api,
      onNames: (names) => this.update({ names }),
    });
    this.live = new LiveStream({
      openEventSource,
      onChange: (c) => this.receive(c),
      onState: (connection) => this.update({ connection }),
      onReference: () => void this.references.refresh(),
      onStatus: () => void this.refreshStatus(),
      onReconnected: () => void this.refreshStatus(),
    });
  }

  get current(): Readonly<SessionView> {
    return this.view;
  }

  async start(): Promise<void> {
    void this.references.start();
    void this.refreshStatus();
    const after = await this.newestSeq();
    if (this.stopped) return;
    this.live.start(after);
    this.resolveReady();
  }

  /** The newest change's seq, from the cheapest query that has it (the status can be slow
   * on a large delivery log, and the first screen should not wait for it). */
  private async newestSeq(): Promise<number> {
    while (!this.stopped) {
      try {
        return (await this.api.latestChanges({}, null, 1)).lastSeq;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) this.update({ signedOut: true, statusError: describeError(err) });
        await new Promise((r) => setTimeout(r, START_RETRY_MS));
      }
    }
    return 0;
  }

  /** Shows the feed for these filters, once the stream is running. The same filters again
   * (coming back from a record's history) keep the rows and the place already there. */
  async showFeed(query: FeedQuery): Promise<boolean> {
    const key = feedQueryKey(query);
    if (key === this.feedKey) return false;
    this.feedKey = key;
    await this.ready;
    if (key !== this.feedKey) return false;
    await this.feed.setQuery(query);
    return true;
  }

  /** Stops every timer and the stream (tests; a window being closed). */
  stop(): void {
    this.stopped = true;
    this.live.stop();
    this.references.stop();
    if (this.statusTimer !== null) clearTimeout(this.statusTimer);
    this.statusTimer = null;
  }

  retryConnectionNow(): void {
    this.live.retryNow();
    void this.refreshStatus();
  }

  /** Reads /api/status now and schedules the next read. */
  async refreshStatus(): Promise<Status | null> {
    if (this.statusTimer !== null) clearTimeout(this.statusTimer);
    this.statusTimer = null;
    let status: Status | null = null;
    try {
      status = await this.api.status();
      this.update({ status, statusError: null, signedOut: false });
    } catch (err) {
      const signedOut = err instanceof ApiError && err.status === 401;
      this.update({ statusError: describeError(err), signedOut });
    }
    if (!this.stopped) this.statusTimer = setTimeout(() => void this.refreshStatus(), STATUS_POLL_MS);
    return status;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every live change, for views that refresh on activity (the board, a record's history). */
  onLiveChange(listener: (c: Change) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private receive(c: Change): void {
    this.feed.list.receiveLive(c);
    this.askForMissingNames([c]);
    for (const l of this.changeListeners) l(c);
  }

  private askForMissingNames(rows: readonly Change[]): void {
    if (rows.some((r) => !this.view.names.knowsAll(r))) this.references.noteUnknownId();
  }

  private update(patch: Partial<SessionView>): void {
    this.view = { ...this.view, ...patch };
    for (const l of this.listeners) l();
  }
}
