// Loads the feed's pages for the current filters into a FeedList. A change of filters
// starts a new generation; answers that belong to an older generation are dropped, so a
// slow page for the old filters can never land in the list for the new ones.

import type { Change, ChangePage } from "../api/types";
import { describeError } from "../api/errors";
import { FeedList } from "./feedList";
import { matchesServerFilter, type ServerFilter } from "./filters";
import { studentSearchAccepts, type StudentSearch } from "./studentSearch";

export type PageSource = {
  latestChanges(filter: ServerFilter, before: number | null, limit: number): Promise<ChangePage>;
};

export type FeedQuery = { server: ServerFilter; student: StudentSearch };

export type LoadState = {
  /** The first screen is being read. */
  loadingFirst: boolean;
  loadingOlder: boolean;
  /** No older rows exist for these filters. */
  reachedEnd: boolean;
  /** A sentence for the user when the last load failed. */
  error: string | null;
};

/** Whether a change belongs in the feed for `query`: the server's rules, then the student search. */
export function queryAccepts(query: FeedQuery, c: Change): boolean {
  return matchesServerFilter(query.server, c) && studentSearchAccepts(query.student, c.studentPeriodId);
}

export class FeedLoader {
  private generation = 0;
  /** The oldest seq the server has given for this query. Not the list's oldest row: the
   * student search may have dropped rows from a page, and the next page starts below them. */
  private cursor: number | null = null;
  private firstLoaded = false;
  private query: FeedQuery = { server: {}, student: { kind: "none" } };
  // "Loading" from the start: the first query waits for the live stream to be set up.
  private state: LoadState = { loadingFirst: true, loadingOlder: false, reachedEnd: false, error: null };
  private listeners = new Set<() => void>();

  /**
   * @param firstPageSize rows for the first screen: small, so it shows at once.
   * @param olderPageSize rows per older page: larger, so dragging the scrollbar far back
   *   through a long history needs few round trips.
   */
  constructor(
    readonly list: FeedList,
    private readonly source: PageSource,
    private readonly firstPageSize = 200,
    private readonly olderPageSize = firstPageSize,
  ) {}

  get load(): Readonly<LoadState> {
    return this.state;
  }

  get currentQuery(): FeedQuery {
    return this.query;
  }

  /** New filters: empty the list and read the first screen for them. */
  async setQuery(query: FeedQuery): Promise<void> {
    this.generation++;
    this.query = query;
    this.cursor = null;
    this.firstLoaded = false;
    this.list.reset((c) => queryAccepts(query, c));
    this.setState({ loadingFirst: false, loadingOlder: false, reachedEnd: query.student.kind === "no-match", error: null });
    if (query.student.kind === "no-match") return;
    await this.fetchPage(null, "loadingFirst", this.firstPageSize);
  }

  /** Reads the next older page, unless one is on its way or there is none. */
  async loadOlder(): Promise<void> {
    if (!this.firstLoaded || this.state.loadingOlder || this.state.reachedEnd) return;
    await this.fetchPage(this.cursor, "loadingOlder", this.olderPageSize);
  }

  /** Tries the last failed load again. */
  async retry(): Promise<void> {
    if (!this.firstLoaded) await this.setQuery(this.query);
    else await this.loadOlder();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async fetchPage(before: number | null, flag: "loadingFirst" | "loadingOlder", limit: number): Promise<void> {
    const generation = this.generation;
    this.setState({ [flag]: true, error: null });
    try {
      const page = await this.source.latestChanges(this.query.server, before, limit);
      if (generation !== this.generation) return;
      for (const c of page.changes) if (this.cursor === null || c.seq < this.cursor) this.cursor = c.seq;
      this.list.addPage(page.changes);
      this.firstLoaded = true;
      this.setState({ [flag]: false, reachedEnd: page.changes.length < limit });
    } catch (err) {
      if (generation !== this.generation) return;
      this.setState({ [flag]: false, error: describeError(err) });
    }
  }

  private setState(patch: Partial<LoadState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }
}
