import { describe, expect, it } from "vitest";
import type { Change, ChangePage } from "../src/lib/api/types";
import { ApiError } from "../src/lib/api/errors";
import { FeedList } from "../src/lib/feed/feedList";
import { FeedLoader, type PageSource } from "../src/lib/feed/feedLoader";
import { matchesServerFilter, type ServerFilter } from "../src/lib/feed/filters";
import { resolveStudentSearch } from "../src/lib/feed/studentSearch";
import { change, seqs } from "./fixtures";

/** Answers /api/changes/latest from an in-memory log with the server's rules. */
function logSource(log: Change[]): PageSource & { calls: { filter: ServerFilter; before: number | null }[] } {
  const calls: { filter: ServerFilter; before: number | null }[] = [];
  return {
    calls,
    latestChanges: async (filter, before, limit): Promise<ChangePage> => {
      calls.push({ filter, before });
      const changes = log
        .filter((c) => matchesServerFilter(filter, c) && (before === null || c.seq < before))
        .sort((a, b) => b.seq - a.seq)
        .slice(0, limit);
      return { changes, lastSeq: Math.max(0, ...log.map((c) => c.seq)) };
    },
  };
}

const none = { kind: "none" } as const;

describe("FeedLoader", () => {
  const log = Array.from({ length: 10 }, (_, i) => change(i + 1, { classId: i % 2 === 0 ? 34 : 35 }));

  it("loads the first screen, then older pages until the end", async () => {
    const loader = new FeedLoader(new FeedList(), logSource(log), 4);
    await loader.setQuery({ server: {}, student: none });
    expect(seqs(loader.list.items)).toEqual([10, 9, 8, 7]);
    await loader.loadOlder();
    await loader.loadOlder();
    expect(seqs(loader.list.items)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(loader.load.reachedEnd).toBe(true);
  });

  it("sends the filters to the server and applies them to live rows too", async () => {
    const source = logSource(log);
    const loader = new FeedLoader(new FeedList(), source, 50);
    await loader.setQuery({ server: { classId: 34 }, student: none });
    expect(source.calls[0]!.filter).toEqual({ classId: 34 });
    expect(seqs(loader.list.items)).toEqual([9, 7, 5, 3, 1]);
    expect(loader.list.receiveLive(change(11, { classId: 35 }))).toBe("filtered");
    expect(loader.list.receiveLive(change(12, { classId: 34 }))).toBe("shown");
  });

  it("pages on from the server's oldest row even when the student search hid rows", async () => {
    const many = resolveStudentSearch("papa", [
      { studentPeriodId: 1, name: "Anna Papa" },
      { studentPeriodId: 2, name: "Eleni Papas" },
    ]);
    const rows = Array.from({ length: 9 }, (_, i) => change(i + 1, { studentPeriodId: i === 0 ? 1 : 3 }));
    const source = logSource(rows);
    const loader = new FeedLoader(new FeedList(), source, 3);
    await loader.setQuery({ server: {}, student: many });
    expect(loader.list.items).toHaveLength(0);
    await loader.loadOlder();
    await loader.loadOlder();
    expect(source.calls.map((c) => c.before)).toEqual([null, 7, 4]);
    expect(seqs(loader.list.items)).toEqual([1]);
  });

  it("reads a small first screen and larger older pages", async () => {
    const source = logSource(log);
    const loader = new FeedLoader(new FeedList(), source, 2, 5);
    await loader.setQuery({ server: {}, student: none });
    expect(seqs(loader.list.items)).toEqual([10, 9]);
    await loader.loadOlder();
    expect(seqs(loader.list.items)).toEqual([10, 9, 8, 7, 6, 5, 4]);
    expect(loader.load.reachedEnd).toBe(false);
    await loader.loadOlder();
    expect(loader.load.reachedEnd).toBe(true);
  });

  it("drops a slow answer for filters the user has already changed", async () => {
    let release: (p: ChangePage) => void = () => {};
    const slow: PageSource = {
      latestChanges: (filter) =>
        filter.classId === 35
          ? new Promise((r) => (release = r))
          : Promise.resolve({ changes: [change(2, { classId: 34 })], lastSeq: 2 }),
    };
    const loader = new FeedLoader(new FeedList(), slow, 50);
    const first = loader.setQuery({ server: { classId: 35 }, student: none });
    await loader.setQuery({ server: { classId: 34 }, student: none });
    release({ changes: [change(1, { classId: 35 })], lastSeq: 2 });
    await first;
    expect(seqs(loader.list.items)).toEqual([2]);
  });

  it("shows a sentence when a load fails, and tries again on request", async () => {
    let fail = true;
    const source: PageSource = {
      latestChanges: async () => {
        if (fail) throw new ApiError(0, "unreachable", "Rollcall is not answering.");
        return { changes: [change(1)], lastSeq: 1 };
      },
    };
    const loader = new FeedLoader(new FeedList(), source, 50);
    await loader.setQuery({ server: {}, student: none });
    expect(loader.load.error).toBe("Rollcall is not answering.");
    expect(loader.load.loadingFirst).toBe(false);
    fail = false;
    await loader.retry();
    expect(loader.load.error).toBeNull();
    expect(seqs(loader.list.items)).toEqual([1]);
  });

  it("reads no older page before the first screen (the view asks as soon as it opens)", async () => {
    const source = logSource(log);
    const loader = new FeedLoader(new FeedList(), source, 4);
    expect(loader.load.loadingFirst).toBe(true);
    await loader.loadOlder();
    expect(source.calls).toHaveLength(0);
    await loader.setQuery({ server: {}, student: none });
    await loader.loadOlder();
    expect(source.calls.map((c) => c.before)).toEqual([null, 7]);
  });

  it("asks the server nothing when no student matches the search", async () => {
    const source = logSource(log);
    const loader = new FeedLoader(new FeedList(), source, 50);
    await loader.setQuery({ server: {}, student: { kind: "no-match", query: "x" } });
    expect(source.calls).toHaveLength(0);
    expect(loader.load.reachedEnd).toBe(true);
  });
});
