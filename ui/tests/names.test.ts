import { describe, expect, it } from "vitest";
import type { Reference, StatusCategory } from "../src/lib/api/types";
import { NameBook } from "../src/lib/names/nameBook";
import { ReferenceLoader } from "../src/lib/names/referenceLoader";
import { statusChangeText, whatHappened } from "../src/lib/feed/changeDescription";
import { ApiError } from "../src/lib/api/errors";
import { ManualClock } from "./fakeTimers";
import { change } from "./fixtures";

/** A category this UI does not know, as a newer Rollcall or a hand-edited database could send. */
const unknownCategory = (name: string) => name as StatusCategory;

const reference: Reference = {
  statuses: [
    { tenant: "my-school", id: 5, name: "Present", category: "present" },
    { tenant: "my-school", id: 6, name: "Absent", category: unknownCategory("ABSENT") },
    { tenant: "my-school", id: 7, name: "Field trip", category: unknownCategory("something-new") },
  ],
  students: [{ tenant: "my-school", studentPeriodId: 4, name: "Zoë Papadopoulou" }],
  classes: [{ tenant: "my-school", id: 34, name: "B2" }],
  courses: [{ tenant: "my-school", id: 40, name: "Mathematics" }],
};

describe("NameBook", () => {
  it("falls back to ids while names are unknown", () => {
    const names = NameBook.empty;
    expect(names.student(4)).toBe("Student #4");
    expect(names.className(34)).toBe("Class 34");
    expect(names.course(40)).toBe("Course 40");
    expect(names.status(5)).toBe("Status 5");
    expect(names.statusCategory(5)).toBe("other");
    expect(statusChangeText(change(1, { statusBefore: 5, statusAfter: 6 }), names)).toBe("Status 5 → Status 6");
  });

  it("uses names once known, and maps categories to the five colours", () => {
    const names = NameBook.of(reference);
    expect(names.student(4)).toBe("Zoë Papadopoulou");
    expect(names.className(34)).toBe("B2");
    expect(names.course(40)).toBe("Mathematics");
    expect(names.statusCategory(6)).toBe("absent");
    expect(names.statusCategory(7)).toBe("other");
    expect(names.student(5)).toBe("Student #5");
  });

  it("describes creations, deletions and comment-only changes", () => {
    const names = NameBook.of(reference);
    expect(statusChangeText(change(1, { statusBefore: null, statusAfter: 5 }), names)).toBe("Present (new)");
    expect(statusChangeText(change(1, { statusBefore: 6, statusAfter: null }), names)).toBe("Deleted (was Absent)");
    expect(statusChangeText(change(1, { statusBefore: 5, statusAfter: 5, commentBefore: "", commentAfter: "late bus" }), names)).toBe("Present (comment changed)");
  });

  it("knows when a row still has an id without a name", () => {
    const names = NameBook.of(reference);
    expect(names.knowsAll(change(1, { statusBefore: 5, statusAfter: 6 }))).toBe(true);
    expect(names.knowsAll(change(1, { statusBefore: 5, statusAfter: 8 }))).toBe(false);
    expect(names.knowsAll(change(1, { studentPeriodId: 99 }))).toBe(false);
    expect(names.knowsAll(change(1, { tenant: "another-school", statusBefore: 5, statusAfter: 6 })), "the ids have names in their own school only").toBe(false);
  });

  it("keeps each school's names apart: a row reads its own school, a picker the school chosen", () => {
    const names = NameBook.of({
      classes: [
        { tenant: "north", id: 12, name: "North 7" },
        { tenant: "south", id: 12, name: "South 7" },
        { tenant: "south", id: 13, name: "South 8" },
      ],
    });
    expect(names.className(12, "north")).toBe("North 7");
    expect(names.className(12, "south")).toBe("South 7");
    expect(names.className(13, "north"), "south's class 13 is not north's").toBe("Class 13");
    expect(names.forSchool("south").className(12)).toBe("South 7");
    expect(names.forSchool("north").classList()).toEqual([{ id: 12, name: "North 7" }]);
    expect(names.forSchool(null).classList().map((c) => c.id)).toEqual([12, 13]);
    expect(names.forSchool("south").className(12, "north"), "a row's own school wins over the picker").toBe("North 7");
  });
});

describe("ReferenceLoader", () => {
  function setup(answers: (() => Promise<Reference>)[]) {
    const clock = new ManualClock();
    const books: NameBook[] = [];
    let calls = 0;
    const loader = new ReferenceLoader({
      source: {
        reference: () => {
          const answer = answers[Math.min(calls, answers.length - 1)]!;
          calls++;
          return answer();
        },
      },
      onNames: (b) => books.push(b),
      timers: clock,
      now: () => clock.now,
    });
    return { clock, books, loader, calls: () => calls };
  }

  const notFound = () => Promise.reject(new ApiError(404, "http_404", "not there"));
  const empty = () => Promise.resolve({ statuses: [], students: [], classes: [], courses: [] });
  const full = () => Promise.resolve(reference);

  it("keeps id labels when the endpoint is missing, and names rows in place once it answers", async () => {
    const { clock, books, loader, calls } = setup([notFound, full]);
    await loader.start();
    expect(books).toHaveLength(0);
    clock.advance(30_000);
    await Promise.resolve();
    await Promise.resolve();
    expect(calls()).toBe(2);
    expect(books.at(-1)!.student(4)).toBe("Zoë Papadopoulou");
  });

  it("asks again soon after an unknown id, but not more than once per gap", async () => {
    const { clock, loader, calls } = setup([empty, full]);
    await loader.start();
    expect(calls()).toBe(1);
    loader.noteUnknownId();
    loader.noteUnknownId();
    clock.advance(9_999);
    expect(calls()).toBe(1);
    clock.advance(1);
    expect(calls()).toBe(2);
  });

  it("re-reads at once when the server says names changed", async () => {
    const { loader, calls, books } = setup([empty, full]);
    await loader.start();
    await loader.refresh();
    expect(calls()).toBe(2);
    expect(books.at(-1)!.className(34)).toBe("B2");
  });

  it("polls every 30 seconds and stops when stopped", async () => {
    const { clock, loader, calls } = setup([empty]);
    await loader.start();
    clock.advance(30_000);
    expect(calls()).toBe(2);
    await Promise.resolve();
    await Promise.resolve();
    loader.stop();
    clock.advance(120_000);
    expect(calls()).toBe(2);
  });
});

describe("whatHappened", () => {
  it("reads the change from before and after, not from the event type", () => {
    expect(whatHappened(change(1, { eventType: "ATTENDANCE_CREATED", statusBefore: 1, statusAfter: 2 }))).toBe("Status changed");
    expect(whatHappened(change(1, { statusBefore: null, statusAfter: 2 }))).toBe("Created");
    expect(whatHappened(change(1, { statusBefore: 2, statusAfter: null }))).toBe("Deleted");
    expect(whatHappened(change(1, { statusBefore: 2, statusAfter: 2, commentBefore: "", commentAfter: "bus" }))).toBe("Comment changed");
    expect(whatHappened(change(1, { statusBefore: 2, statusAfter: 2, commentBefore: "", commentAfter: "" }))).toBe("Sent again, no change");
  });
});
