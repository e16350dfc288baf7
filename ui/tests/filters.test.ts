import { describe, expect, it } from "vitest";
import { filterFromParams, filterToParams, matchesServerFilter, sameFilter } from "../src/lib/feed/filters";
import { change } from "./fixtures";

describe("matchesServerFilter (same rules as the server's RecordFilter)", () => {
  const row = change(1, { date: "2025-06-19", classId: 34, courseId: 40, statusAfter: 6, studentPeriodId: 4, attendanceId: 52, tenant: "my-school" });

  it("accepts everything with no filter", () => {
    expect(matchesServerFilter({}, row)).toBe(true);
  });

  it("matches each field exactly", () => {
    expect(matchesServerFilter({ classId: 34 }, row)).toBe(true);
    expect(matchesServerFilter({ classId: 35 }, row)).toBe(false);
    expect(matchesServerFilter({ courseId: 41 }, row)).toBe(false);
    expect(matchesServerFilter({ studentPeriodId: 4 }, row)).toBe(true);
    expect(matchesServerFilter({ attendanceId: 53 }, row)).toBe(false);
    expect(matchesServerFilter({ tenant: "other-school" }, row)).toBe(false);
    expect(matchesServerFilter({ date: "2025-06-19" }, row)).toBe(true);
    expect(matchesServerFilter({ date: "2025-06-20" }, row)).toBe(false);
  });

  it("filters the status after the change, never the one before", () => {
    expect(matchesServerFilter({ statusId: 6 }, row)).toBe(true);
    expect(matchesServerFilter({ statusId: 5 }, row)).toBe(false);
  });

  it("never matches a delete when filtering by status", () => {
    const deleted = change(2, { statusBefore: 6, statusAfter: null });
    expect(matchesServerFilter({ statusId: 6 }, deleted)).toBe(false);
    expect(matchesServerFilter({}, deleted)).toBe(true);
  });

  it("treats from and to as inclusive bounds", () => {
    expect(matchesServerFilter({ from: "2025-06-19", to: "2025-06-19" }, row)).toBe(true);
    expect(matchesServerFilter({ from: "2025-06-20" }, row)).toBe(false);
    expect(matchesServerFilter({ to: "2025-06-18" }, row)).toBe(false);
    expect(matchesServerFilter({ from: "2025-06-01", to: "2025-06-30" }, row)).toBe(true);
  });

  it("requires every given field (AND)", () => {
    expect(matchesServerFilter({ classId: 34, courseId: 40, statusId: 6 }, row)).toBe(true);
    expect(matchesServerFilter({ classId: 34, courseId: 40, statusId: 7 }, row)).toBe(false);
  });
});

describe("filter parameters", () => {
  it("round-trips through query parameters and drops what is not set", () => {
    const f = { classId: 34, date: "2025-06-19", statusId: 0 };
    const params = filterToParams(f);
    expect(params).toEqual({ classId: "34", date: "2025-06-19", statusId: "0" });
    expect(filterFromParams(new URLSearchParams(params))).toEqual(f);
  });

  it("ignores malformed numbers instead of sending them to the server", () => {
    expect(filterFromParams(new URLSearchParams("classId=abc&courseId=40&date="))).toEqual({ courseId: 40 });
  });

  it("compares filters by value", () => {
    expect(sameFilter({ classId: 1 }, { classId: 1, date: undefined })).toBe(true);
    expect(sameFilter({ classId: 1 }, { classId: 2 })).toBe(false);
  });
});
