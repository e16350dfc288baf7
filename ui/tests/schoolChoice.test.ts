import { describe, expect, it } from "vitest";
import { feedQueryFor } from "../src/lib/feed/feedQuery";
import { queryAccepts } from "../src/lib/feed/feedLoader";
import { NameBook } from "../src/lib/names/nameBook";
import { exportFileName, exportFilter, exportHref, summaryParams } from "../src/lib/reports/reportQuery";
import {
  pickerShown,
  resolveSchoolChoice,
  schoolIdFor,
  schoolName,
  schoolParams,
  showSchoolColumn,
  streamAccepts,
  withSchool,
} from "../src/lib/schools/schoolChoice";
import { change } from "./fixtures";

const north = { id: "north", name: "North Primary", tenant: "north-primary" };
const south = { id: "south", name: "South High", tenant: "south-high" };
const two = [north, south];

describe("the school picker", () => {
  it("is offered only with more than one school", () => {
    expect(pickerShown(null)).toBe(false);
    expect(pickerShown([])).toBe(false);
    expect(pickerShown([north])).toBe(false);
    expect(pickerShown(two)).toBe(true);
  });

  it("keeps the remembered school while it is listed, else falls back to all schools", () => {
    expect(resolveSchoolChoice("south-high", two)).toBe("south-high");
    expect(resolveSchoolChoice("west", two)).toBeNull();
    expect(resolveSchoolChoice("south-high", [north, { id: "east", name: "East", tenant: "east" }])).toBeNull();
    expect(resolveSchoolChoice(null, two)).toBeNull();
    expect(resolveSchoolChoice("", two)).toBeNull();
    // One school, or a Rollcall that cannot list them: the office PC, as it always was.
    expect(resolveSchoolChoice("north-primary", [north])).toBeNull();
    expect(resolveSchoolChoice("north-primary", null)).toBeNull();
  });

  it("picks the query parameter: the tenant with a school, nothing with all schools", () => {
    expect(schoolParams("north-primary")).toEqual({ tenant: "north-primary" });
    expect(schoolParams(null)).toEqual({});
    expect(withSchool({ date: "2026-11-01" }, "north-primary")).toEqual({ date: "2026-11-01", tenant: "north-primary" });
    expect(withSchool({ date: "2026-11-01" }, null)).toEqual({ date: "2026-11-01" });
  });

  it("narrows the feed's question and its live rows to the chosen school", () => {
    const route = { view: "feed" as const, filter: { classId: 34 }, student: "" };
    const one = feedQueryFor(route, NameBook.empty, "north-primary");
    expect(one.server).toEqual({ classId: 34, tenant: "north-primary" });
    expect(queryAccepts(one, change(1, { tenant: "north-primary" }))).toBe(true);
    expect(queryAccepts(one, change(2, { tenant: "south-high" }))).toBe(false);
    const all = feedQueryFor(route, NameBook.empty, null);
    expect(all.server).toEqual({ classId: 34 });
    expect(queryAccepts(all, change(2, { tenant: "south-high" }))).toBe(true);
  });

  it("drops other schools' changes from the shared stream", () => {
    expect(streamAccepts("north-primary", { tenant: "north-primary" })).toBe(true);
    expect(streamAccepts("north-primary", { tenant: "south-high" })).toBe(false);
    expect(streamAccepts(null, { tenant: "south-high" })).toBe(true);
  });

  it("says each row's school only when rows of several schools are on screen", () => {
    expect(showSchoolColumn(two, null)).toBe(true);
    expect(showSchoolColumn(two, "north-primary")).toBe(false);
    expect(showSchoolColumn([north], null)).toBe(false);
    expect(schoolName(two, "south-high")).toBe("South High");
    expect(schoolName(two, "unknown-tenant")).toBe("unknown-tenant");
  });

  it("passes the school to exports and the summary, and names the file by the school's id", () => {
    const f = withSchool({ from: "2026-11-01", to: "2026-11-01", classId: 34 }, "north-primary");
    expect(exportHref("attendance", f, false)).toBe("/api/export/attendance.csv?from=2026-11-01&to=2026-11-01&classId=34&tenant=north-primary&excel=false");
    expect(exportFilter(f)).toEqual({ from: "2026-11-01", to: "2026-11-01", classId: 34, tenant: "north-primary" });
    expect(summaryParams(f)).toEqual({ from: "2026-11-01", to: "2026-11-01", classId: "34", tenant: "north-primary" });
    expect(schoolIdFor(two, "north-primary")).toBe("north");
    expect(schoolIdFor(two, null)).toBeNull();
    expect(exportFileName("attendance", f, schoolIdFor(two, "north-primary"))).toBe("rollcall-attendance-north-2026-11-01.csv");
    expect(exportFileName("changes", { from: "2026-11-01", to: "2026-11-28" }, "south")).toBe("rollcall-changes-south-2026-11-01-to-2026-11-28.csv");
    // All schools: the name as it always was.
    expect(exportFileName("attendance", { from: "2026-11-01", to: "2026-11-01" }, null)).toBe("rollcall-attendance-2026-11-01.csv");
    expect(exportFileName("students", {})).toBe("rollcall-students.csv");
  });
});
