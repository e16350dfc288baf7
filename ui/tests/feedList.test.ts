import { describe, expect, it } from "vitest";
import { FeedList } from "../src/lib/feed/feedList";
import { change, seqs } from "./fixtures";

describe("FeedList: merging live rows", () => {
  it("keeps rows newest first whatever order they come in", () => {
    const list = new FeedList();
    list.addPage([change(10), change(9), change(8)]);
    list.receiveLive(change(12));
    list.receiveLive(change(11)); // late, out of order
    list.addPage([change(5), change(7)]);
    expect(seqs(list.items)).toEqual([12, 11, 10, 9, 8, 7, 5]);
  });

  it("keeps a row once when the page and the stream both bring it", () => {
    const list = new FeedList();
    expect(list.receiveLive(change(11))).toBe("shown");
    list.addPage([change(11), change(10)]);
    expect(list.receiveLive(change(10))).toBe("duplicate");
    expect(seqs(list.items)).toEqual([11, 10]);
  });

  it("drops live rows the filters do not accept", () => {
    const list = new FeedList((c) => c.classId === 34);
    expect(list.receiveLive(change(1, { classId: 35 }))).toBe("filtered");
    expect(list.receiveLive(change(2))).toBe("shown");
    expect(seqs(list.items)).toEqual([2]);
  });

  it("also filters pages (the student search is applied here)", () => {
    const list = new FeedList((c) => c.studentPeriodId !== 9);
    expect(list.addPage([change(3), change(2, { studentPeriodId: 9 }), change(1)])).toBe(2);
    expect(seqs(list.items)).toEqual([3, 1]);
  });

  it("tells subscribers about every change", () => {
    const list = new FeedList();
    let calls = 0;
    const unsubscribe = list.subscribe(() => calls++);
    list.receiveLive(change(1));
    list.setPaused(true);
    unsubscribe();
    list.receiveLive(change(2));
    expect(calls).toBe(2);
  });
});

describe("FeedList: reading older rows and the N new count", () => {
  it("holds live rows while the user reads older ones, and counts them", () => {
    const list = new FeedList();
    list.addPage([change(10), change(9)]);
    list.setReadingOlder(true);
    expect(list.receiveLive(change(11))).toBe("held");
    expect(list.receiveLive(change(12))).toBe("held");
    expect(list.newCount).toBe(2);
    // What the user reads does not move.
    expect(seqs(list.items)).toEqual([10, 9]);
  });

  it("does not count a held row twice when it is replayed", () => {
    const list = new FeedList();
    list.setReadingOlder(true);
    list.receiveLive(change(11));
    expect(list.receiveLive(change(11))).toBe("duplicate");
    expect(list.newCount).toBe(1);
  });

  it("shows the held rows when the user scrolls back to the top", () => {
    const list = new FeedList();
    list.addPage([change(10)]);
    list.setReadingOlder(true);
    list.receiveLive(change(12));
    list.receiveLive(change(11));
    list.setReadingOlder(false);
    expect(list.newCount).toBe(0);
    expect(seqs(list.items)).toEqual([12, 11, 10]);
  });

  it("shows the held rows when N new is clicked", () => {
    const list = new FeedList();
    list.addPage([change(10)]);
    list.setReadingOlder(true);
    list.receiveLive(change(11));
    expect(list.showHeld()).toBe(1);
    expect(seqs(list.items)).toEqual([11, 10]);
    // The click jumps to the top, so the next row is shown at once.
    expect(list.receiveLive(change(12))).toBe("shown");
  });
});

describe("FeedList: pause", () => {
  it("holds rows while paused even at the top, and shows them on resume", () => {
    const list = new FeedList();
    list.addPage([change(1)]);
    list.setPaused(true);
    expect(list.receiveLive(change(2))).toBe("held");
    expect(list.receiveLive(change(3))).toBe("held");
    expect(list.newCount).toBe(2);
    expect(seqs(list.items)).toEqual([1]);
    list.setPaused(false);
    expect(seqs(list.items)).toEqual([3, 2, 1]);
    expect(list.newCount).toBe(0);
  });

  it("keeps holding after resume while the user is still reading older rows", () => {
    const list = new FeedList();
    list.setPaused(true);
    list.setReadingOlder(true);
    list.receiveLive(change(2));
    list.setPaused(false);
    expect(list.newCount).toBe(1);
    expect(list.items).toHaveLength(0);
  });

  it("starts over on new filters: rows, held rows and seen seqs are dropped", () => {
    const list = new FeedList();
    list.addPage([change(1)]);
    list.setPaused(true);
    list.receiveLive(change(2));
    list.reset(() => true);
    expect(list.items).toHaveLength(0);
    expect(list.newCount).toBe(0);
    // The same seq is welcome again under the new filters.
    expect(list.addPage([change(1)])).toBe(1);
  });
});
