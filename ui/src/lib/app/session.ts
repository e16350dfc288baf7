// One window's link to Rollcall: the status, the names, the live stream and the feed, wired
// together once and shared by every view. Plain TypeScript; the Svelte side only listens.
//
// Order matters for "nothing lost": the newest seq is read first and the stream starts after
// it; the feed's first page is read only after that, so every change is either in a page
// (committed before the page was read) or comes through the stream (seq above the one read),
// and the overlap is dropped by seq.

import { Api } from "../api/client";
import { describeError, ApiError } from "../api/errors";
import type { Alert, Change, LessonsNotTakenNotice, Status } from "../api/types";
import { FeedList } from "../feed/feedList";
import { FeedLoader, type FeedQuery } from "../feed/feedLoader";
import { feedQueryKey } from "../feed/feedQuery";
import type { ConnectionState } from "../live/connectionState";
import { LiveStream, type EventSourceLike } from "../live/liveStream";
import { NameBook } from "../names/nameBook";
import { ReferenceLoader } from "../names/referenceLoader";
import { AlertsLoader } from "../reports/alertsLoader";
import { resolveSchoolChoice, SCHOOL_CHOICE_KEY, type SchoolEntry } from "../schools/schoolChoice";

const STATUS_POLL_MS = 10_000;
const START_RETRY_MS = 2_000;
/** How long after the first screen the alerts are first asked for. */
const ALERTS_START_DELAY_MS = 1500;
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
  /** Threshold alerts; null until read, or when this Rollcall has none to offer. */
  alerts: Alert[] | null;
  alertsUnavailable: boolean;
  /** When the Reports page was last looked at: newer alerts are counted in the navigation. */
  alertsSeenAt: number;
  /** The webhook URL the user just said they entered in DreamClass (hides its banner at once). */
  acknowledgedUrl: string | null;
  /** The server's notice that lessons had no attendance by the cutoff; null once dismissed. */
  notTakenNotice: LessonsNotTakenNotice | null;
  /** The schools the person may see; null until read, or on a Rollcall that cannot list them. */
  schools: SchoolEntry[] | null;
  /** The school picker's choice for the Feed, Today and Reports (a tenant); null: all schools. */
  school: string | null;
};

/** Where the window remembers small things between runs (localStorage in a browser). */
export type SmallStore = { get(key: string): string | null; set(key: string, value: string): void };

const ALERTS_SEEN_KEY = "rollcall.alertsSeenAt";

function browserStore(): SmallStore {
  return {
    get: (k) => {
      try {
        return globalThis.localStorage?.getItem(k) ?? null;
      } catch {
        return null;
      }
    },
    set: (k, v) => {
      try {
        globalThis.localStorage?.setItem(k, v);
      } catch {
        // Private windows may refuse: the badge then counts from this run only.
      }
    },
  };
}

export class Session {
  readonly api: Api;
  readonly feed: FeedLoader;
  private view: SessionView = {
    names: NameBook.empty,
    connection: { kind: "connecting" },
    status: null,
    statusError: null,
    signedOut: false,
    alerts: null,
    alertsUnavailable: false,
    alertsSeenAt: 0,
    acknowledgedUrl: null,
    notTakenNotice: null,
    schools: null,
    school: null,
  };
  private readonly live: LiveStream;
  private readonly references: ReferenceLoader;
  private readonly alertsLoader: AlertsLoader;
  private readonly listeners = new Set<() => void>();
  private readonly changeListeners = new Set<(c: Change) => void>();
  private feedKey: string | null = null;
  private stopped = false;
  private statusTimer: ReturnType<typeof setTimeout> | null = null;
  private resolveReady: () => void = () => {};
  /** Resolves once the stream has a starting point; the feed waits for it. */
  readonly ready = new Promise<void>((r) => (this.resolveReady = r));

  constructor(
    api = new Api(),
    openEventSource = (url: string): EventSourceLike => new EventSource(url),
    private readonly store: SmallStore = browserStore(),
  ) {
    this.api = api;
    this.view.alertsSeenAt = Number(store.get(ALERTS_SEEN_KEY)) || 0;
    this.feed = new FeedLoader(new FeedList(), api, FIRST_PAGE_SIZE, OLDER_PAGE_SIZE);
    this.feed.subscribe(() => this.askForMissingNames(this.feed.list.items.slice(0, 100)));
    this.references = new ReferenceLoader({
      source: api,
      onNames: (names) => this.update({ names }),
    });
    this.alertsLoader = new AlertsLoader({
      // Alerts are of the school chosen in the picker, like the rest of the Reports page.
      source: { alerts: () => api.alerts(this.view.school) },
      onAlerts: ({ alerts, unavailable }) => this.update({ alerts, alertsUnavailable: unavailable }),
    });
    this.live = new LiveStream({
      openEventSource,
      onChange: (c) => this.receive(c),
      onState: (connection) => this.update({ connection }),
      onReference: () => void this.references.refresh(),
      onStatus: () => void this.refreshStatus(),
      onReconnected: () => void this.refreshStatus(),
      onLessonsNotTaken: (notTakenNotice) => this.update({ notTakenNotice }),
    });
  }

  get current(): Readonly<SessionView> {
    return this.view;
  }

  async start(): Promise<void> {
    void this.references.start();
    void this.refreshStatus();
    // The schools come before the first screen, so a remembered school's rows are the first
    // ones read (not every school's, then the one chosen).
    const [after] = await Promise.all([this.newestSeq(), this.refreshSchools()]);
    if (this.stopped) return;
    this.live.start(after);
    this.resolveReady();
    // Alerts scan a whole term of attendance: computed after the first screen, so they never
    // compete with it on a large database.
    setTimeout(() => {
      if (!this.stopped) void this.alertsLoader.start();
    }, ALERTS_START_DELAY_MS);
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

  /** Reads the schools the person may see; the remembered choice holds while its school is
   * listed (a school no longer listed falls back to "All schools"). */
  async refreshSchools(): Promise<void> {
    let schools: SchoolEntry[] | null = null;
    try {
      const list = await this.api.schools();
      schools = Array.isArray(list?.schools) ? list.schools.map(({ id, name, tenant }) => ({ id, name, tenant })) : null;
    } catch {
      // A Rollcall without the list (404), or a read that failed: no picker, every school.
    }
    this.update({ schools, school: resolveSchoolChoice(this.store.get(SCHOOL_CHOICE_KEY), schools) });
  }

  /** The school picker: one school (its tenant) or null for "All schools", remembered. */
  chooseSchool(tenant: string | null): void {
    const school = resolveSchoolChoice(tenant, this.view.schools);
    this.store.set(SCHOOL_CHOICE_KEY, school ?? "");
    if (school === this.view.school) return;
    this.update({ school, alerts: null });
    void this.alertsLoader.renew();
  }

  /** Stops every timer and the stream (tests; a window being closed). */
  stop(): void {
    this.stopped = true;
    this.live.stop();
    this.references.stop();
    this.alertsLoader.stop();
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

  /** Reads the alerts again now (the Reports page opening). */
  refreshAlerts(): Promise<void> {
    return this.alertsLoader.refresh();
  }

  /** The Reports page is open: alerts up to now count as seen. */
  markAlertsSeen(now = Date.now()): void {
    const newest = Math.max(now, ...(this.view.alerts ?? []).map((a) => a.at));
    if (newest <= this.view.alertsSeenAt) return;
    this.store.set(ALERTS_SEEN_KEY, String(newest));
    this.update({ alertsSeenAt: newest });
  }

  /** "I have updated it": the URL is in DreamClass. The banner goes at once; the status
   * read right after confirms it (or brings it back with the error if the server refused). */
  async acknowledgeUrl(webhookUrl: string): Promise<void> {
    const previous = this.view.acknowledgedUrl;
    this.update({ acknowledgedUrl: webhookUrl });
    try {
      await this.api.acknowledgeUrl();
    } catch (err) {
      this.update({ acknowledgedUrl: previous });
      throw err;
    } finally {
      void this.refreshStatus();
    }
  }

  /** The office has read the cutoff notice: its banner goes. */
  dismissNotTaken(): void {
    this.update({ notTakenNotice: null });
  }

  /** Names changed on the server side (a status category corrected): read them now. */
  refreshNames(): Promise<void> {
    return this.references.refresh();
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
    this.alertsLoader.noteChange();
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
