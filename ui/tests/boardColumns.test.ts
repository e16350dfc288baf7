import { describe, expect, it } from "vitest";
import { boardStatusColumns, countFor, sortGroups } from "../src/lib/board/boardColumns";
import { NameBook } from "../src/lib/names/nameBook";
import type { Board } from "../src/lib/api/types";

const board: Board = {
  date: "2025-06-19",
  byClass: [
    { id: 10, total: 5, counts: { "6": 2, "5": 3 }, lastUpdate: 1 },
    { id: 9, total: 1, counts: { "8": 1 }, lastUpdate: 2 },
  ],
  byCourse: [{ id: 40, total: 2, counts: { "7": 2 }, lastUpdate: 3 }],
};

describe("board", () => {
  it("orders status columns present, late, absent, excused, then others", () => {
    const names = NameBook.of({
      statuses: [
        { tenant: "my-school", id: 5, name: "Present", category: "present" },
        { tenant: "my-school", id: 6, name: "Absent", category: "absent" },
        { tenant: "my-school", id: 7, name: "Late", category: "late" },
      ],
    });
    expect(boardStatusColumns(board, names)).toEqual([5, 7, 6, 8]);
  });

  it("orders unnamed statuses by number", () => {
    expect(boardStatusColumns(board, NameBook.empty)).toEqual([5, 6, 7, 8]);
  });

  it("reads counts by status id, zero when absent", () => {
    expect(countFor(board.byClass[0]!, 6)).toBe(2);
    expect(countFor(board.byClass[0]!, 8)).toBe(0);
  });

  it("sorts groups by shown name, numbers in number order", () => {
    expect(sortGroups(board.byClass, (id) => `Class ${id}`).map((g) => g.id)).toEqual([9, 10]);
  });
});
