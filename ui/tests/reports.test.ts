import { describe, expect, it } from "vitest";
import type { Alert, ReportSummary } from "../src/lib/api/types";
import { countAxis, labelIndices, linePath, pointXs, scaleLinear } from "../src/lib/reports/chartScale";
import {
  defaultRange,
  exportFileName,
  exportFilter,
  exportHref,
  exportOptions,
  excelSeparatorFor,
  rangePresets,
  rangeProblem,
  reportFilterFromParams,
  reportFilterToParams,
  summaryParams,
} from "../src/lib/reports/reportQuery";
import { formatPercent, shapeSummary, tooEarlyText } from "../src/lib/reports/summary";
import { alertKindLabel, badgeText, sortAlerts, unseenCount } from "../src/lib/reports/alerts";
import { parseRoute, routeHash } from "../src/lib/routing/routes";

describe("report filters", () => {
  it("read from the address, ignoring what is malformed, and round-trip", () => {
    const f = reportFilterFromParams(new URLSearchParams("from=2025-06-01&to=2025-06-30&classId=34&courseId=x&statusId=&studentPeriodId=4&junk=1"));
    expect(f).toEqual({ from: "2025-06-01", to: "2025-06-30", classId: 34, studentPeriodId: 4 });
    expect(reportFilterFromParams(new URLSearchParams(reportFilterToParams(f)))).toEqual(f);
    expect(reportFilterFromParams(new URLSearchParams("from=June"))).toEqual({});
  });

  it("are kept in the Reports route", () => {
    const route = parseRoute("#/reports?from=2025-06-01&to=2025-06-30&classId=34");
    expect(route).toEqual({ view: "reports", filter: { from: "2025-06-01", to: "2025-06-30", classId: 34 } });
    expect(routeHash(route)).toBe("#/reports?from=2025-06-01&to=2025-06-30&classId=34");
    expect(routeHash({ view: "reports", filter: {} })).toBe("#/reports");
    expect(parseRoute("#/settings")).toEqual({ view: "settings" });
  });

  it("make download links with every filter and the Excel choice", () => {
    const f = { from: "2025-06-01", to: "2025-06-30", classId: 34, statusId: 6 };
    expect(exportHref("attendance", f, true, "en-GB")).toBe("/api/export/attendance.csv?from=2025-06-01&to=2025-06-30&classId=34&statusId=6&excel=true&separator=%2C");
    expect(exportHref("attendance", f, true, "de-DE")).toBe("/api/export/attendance.csv?from=2025-06-01&to=2025-06-30&classId=34&statusId=6&excel=true&separator=%3B");
    expect(excelSeparatorFor("el-GR")).toBe(";");
    expect(excelSeparatorFor("en-US")).toBe(",");
    expect(exportHref("students", {}, false)).toBe("/api/export/students.csv?excel=false");
  });

  it("give the desktop's Save the same filter and format as typed values", () => {
    expect(exportOptions(true, "de-DE")).toEqual({ excel: true, separator: ";" });
    expect(exportOptions(true, "en-GB")).toEqual({ excel: true, separator: "," });
    expect(exportOptions(false, "de-DE")).toEqual({ excel: false });
    expect(exportFilter({ from: "", to: "2025-06-30", classId: 34 })).toEqual({ to: "2025-06-30", classId: 34 });
    expect(exportFilter({})).toEqual({});
  });

  it("name the downloaded file after the kind and the days", () => {
    expect(exportFileName("changes", { from: "2025-06-01", to: "2025-06-30" })).toBe("rollcall-changes-2025-06-01-to-2025-06-30.csv");
    expect(exportFileName("classes", { from: "2025-06-19", to: "2025-06-19" })).toBe("rollcall-classes-2025-06-19.csv");
    expect(exportFileName("courses", {})).toBe("rollcall-courses.csv");
  });

  it("give the summary only dates, class and course", () => {
    expect(summaryParams({ from: "2025-06-01", to: "2025-06-30", classId: 3, courseId: 4, statusId: 5, studentPeriodId: 6 })).toEqual({
      from: "2025-06-01",
      to: "2025-06-30",
      classId: "3",
      courseId: "4",
    });
  });

  it("catch a reversed range", () => {
    expect(rangeProblem({ from: "2025-06-30", to: "2025-06-01" })).toMatch(/swap/);
    expect(rangeProblem({ from: "2025-06-01", to: "2025-06-01" })).toBeNull();
    expect(rangeProblem({})).toBeNull();
  });

  it("offer quick ranges: weeks start on Monday, months on the 1st", () => {
    // Thursday 19 June 2025.
    const p = Object.fromEntries(rangePresets("2025-06-19").map((r) => [r.label, [r.from, r.to]]));
    expect(p["Today"]).toEqual(["2025-06-19", "2025-06-19"]);
    expect(p["This week"]).toEqual(["2025-06-16", "2025-06-19"]);
    expect(p["This month"]).toEqual(["2025-06-01", "2025-06-19"]);
    expect(p["Last month"]).toEqual(["2025-05-01", "2025-05-31"]);
    expect(p["Last 30 days"]).toEqual(["2025-05-21", "2025-06-19"]);
    // A Sunday belongs to the week that started on Monday; January's last month is December.
    expect(Object.fromEntries(rangePresets("2026-01-04").map((r) => [r.label, [r.from, r.to]]))["This week"]).toEqual(["2025-12-29", "2026-01-04"]);
    expect(Object.fromEntries(rangePresets("2026-01-04").map((r) => [r.label, [r.from, r.to]]))["Last month"]).toEqual(["2025-12-01", "2025-12-31"]);
    expect(defaultRange("2025-06-19")).toEqual({ from: "2025-06-01", to: "2025-06-19" });
  });
});

describe("chart scales", () => {
  it("give counts whole, readable steps and a top just above the largest", () => {
    expect(countAxis(38)).toEqual({ top: 40, ticks: [0, 10, 20, 30, 40] });
    expect(countAxis(3)).toEqual({ top: 3, ticks: [0, 1, 2, 3] });
    expect(countAxis(7)).toEqual({ top: 8, ticks: [0, 2, 4, 6, 8] });
    expect(countAxis(120)).toEqual({ top: 150, ticks: [0, 50, 100, 150] });
    expect(countAxis(0)).toEqual({ top: 1, ticks: [0, 1] });
    expect(countAxis(1)).toEqual({ top: 1, ticks: [0, 1] });
    for (const max of [5, 13, 38, 99, 250, 1234]) {
      const a = countAxis(max);
      expect(a.top).toBeGreaterThanOrEqual(max);
      expect(a.ticks.every((t) => Number.isInteger(t))).toBe(true);
      expect(a.ticks.length).toBeLessThanOrEqual(7);
    }
  });

  it("map values into pixels, clamped, upward for y", () => {
    const y = scaleLinear(20, 200, 0);
    expect(y(0)).toBe(200);
    expect(y(10)).toBe(100);
    expect(y(20)).toBe(0);
    expect(y(40)).toBe(0);
    expect(y(-1)).toBe(200);
    expect(scaleLinear(0, 0, 100)(0)).toBe(0);
  });

  it("place points evenly and draw a path through them", () => {
    expect(pointXs(3, 0, 100)).toEqual([0, 50, 100]);
    expect(pointXs(1, 0, 100)).toEqual([50]);
    expect(pointXs(0, 0, 100)).toEqual([]);
    expect(linePath([{ x: 0, y: 10 }, { x: 33.333, y: 5.55 }])).toBe("M0 10 L33.3 5.6");
    expect(linePath([])).toBe("");
  });

  it("print at most as many day labels as fit, always the first and last", () => {
    expect(labelIndices(5, 8)).toEqual([0, 1, 2, 3, 4]);
    expect(labelIndices(10, 4)).toEqual([0, 3, 6, 9]);
    const many = labelIndices(31, 6);
    expect(many[0]).toBe(0);
    expect(many.at(-1)).toBe(30);
    expect(many.length).toBeLessThanOrEqual(6);
    expect(labelIndices(0, 4)).toEqual([]);
  });
});

describe("summary shaping", () => {
  const summary: ReportSummary = {
    byClass: [
      { tenant: "north", id: 2, name: "Class 10", sessions: 100, present: 80, absent: 15, late: 5, excused: 0, rate: 0.85 },
      { tenant: "north", id: 1, name: "Class 9", sessions: 200, present: 190, absent: 6, late: 4, excused: 0, rate: 0.97 },
      { tenant: "north", id: 3, name: "", sessions: 0, present: 0, absent: 0, late: 0, excused: 0, rate: 0 },
    ],
    byDay: [
      { date: "2025-06-03", absent: 4, sessions: 60 },
      { date: "2025-06-02", absent: 7, sessions: 60 },
      { date: "2025-06-03", absent: 1, sessions: 10 },
    ],
    chronic: [
      { tenant: "north", studentPeriodId: 4, name: "Zoë", sessions: 30, absent: 4, rate: 0.133 },
      { tenant: "north", studentPeriodId: 5, name: "", sessions: 30, absent: 9, rate: 0.3 },
    ],
    threshold: 0.1,
    tooEarly: 0,
    minDays: 10,
  };

  it("orders classes as people read them and marks those below the threshold", () => {
    const s = shapeSummary(summary);
    expect(s.classes.map((c) => c.name)).toEqual(["Class 3", "Class 9", "Class 10"]);
    expect(s.classes.map((c) => c.low)).toEqual([false, false, true]);
    expect(s.classes.map((c) => c.percent)).toEqual(["0%", "97%", "85%"]);
  });

  it("puts days in order, adding up a day listed twice", () => {
    expect(shapeSummary(summary).days).toEqual([
      { date: "2025-06-02", absent: 7, sessions: 60 },
      { date: "2025-06-03", absent: 5, sessions: 70 },
    ]);
  });

  it("lists chronic absence worst first, with names or numbers", () => {
    const s = shapeSummary(summary);
    expect(s.chronic.map((c) => [c.name, c.percent])).toEqual([
      ["Student #5", "30%"],
      ["Zoë", "13.3%"],
    ]);
    expect(s.thresholdPercent).toBe("10%");
  });

  it("keeps two schools' class and student of the same id apart, naming the school", () => {
    const south = { ...summary.byClass[1]!, tenant: "south", name: "Class 9", rate: 0.5 };
    const s = shapeSummary({ ...summary, byClass: [summary.byClass[1]!, south], chronic: [summary.chronic[0]!, { ...summary.chronic[0]!, tenant: "south" }] });
    expect(s.classes.map((c) => [c.key, c.name])).toEqual([
      ["north/1", "Class 9 (north)"],
      ["south/1", "Class 9 (south)"],
    ]);
    expect(new Set(s.chronic.map((c) => c.key)).size).toBe(2);
    expect(s.chronic.map((c) => c.name)).toEqual(["Zoë (north)", "Zoë (south)"]);
    expect(shapeSummary(summary).classes.map((c) => c.name)).not.toContain("Class 9 (north)");
  });

  it("totals the range and knows when there is nothing", () => {
    const s = shapeSummary(summary);
    expect(s.totals.sessions).toBe(300);
    expect(s.totals.absent).toBe(21);
    expect(s.totals.rate).toBeCloseTo((0.85 * 100 + 0.97 * 200) / 300);
    expect(s.empty).toBe(false);
    expect(shapeSummary({ byClass: [], byDay: [], chronic: [], threshold: 0.1, tooEarly: 0, minDays: 10 })).toMatchObject({ empty: true, totals: { rate: null } });
  });

  it("says how many students it is too early to tell about", () => {
    const s = shapeSummary({ ...summary, chronic: [], tooEarly: 132, minDays: 10 });
    expect([s.tooEarly, s.minDays, s.chronic.length]).toEqual([132, 10, 0]);
    expect(tooEarlyText(132, 10)).toBe("132 students: fewer than 10 school days with records in this range, so they are not flagged yet.");
    expect(tooEarlyText(1, 1)).toBe("1 student: fewer than 1 school day with records in this range, so this student is not flagged yet.");
    expect(shapeSummary(summary).tooEarly).toBe(0);
  });

  it("writes percentages with one decimal at most, clamped", () => {
    expect([0, 1, 0.5, 0.9345, 0.99949, 1.2, -0.1, NaN].map(formatPercent)).toEqual(["0%", "100%", "50%", "93.5%", "99.9%", "100%", "0%", "0%"]);
  });
});

describe("alerts", () => {
  const alerts: Alert[] = [
    { at: 1000, kind: "chronic", tenant: "north", studentPeriodId: 4, name: "Zoë", message: "" },
    { at: 3000, kind: "absences_today", tenant: "north", studentPeriodId: 5, name: "Nikos", message: "" },
    { at: 2000, kind: "absences_today", tenant: "north", studentPeriodId: 6, name: "Anna", message: "" },
  ];

  it("newest first, counted since the last visit", () => {
    expect(sortAlerts(alerts).map((a) => a.at)).toEqual([3000, 2000, 1000]);
    expect(unseenCount(alerts, 0)).toBe(3);
    expect(unseenCount(alerts, 2000)).toBe(1);
    expect(unseenCount(null, 0)).toBe(0);
  });

  it("sort students DreamClass has not named yet without failing", () => {
    const sameTime: Alert[] = [
      { at: 1000, kind: "chronic", tenant: "north", studentPeriodId: 7, name: null, message: "" },
      { at: 1000, kind: "chronic", tenant: "north", studentPeriodId: 4, name: "Zoë", message: "" },
      { at: 1000, kind: "chronic", tenant: "north", studentPeriodId: 8, name: null, message: "" },
    ];
    expect(sortAlerts(sameTime).map((a) => a.studentPeriodId)).toEqual([7, 8, 4]);
  });

  it("label kinds and keep the badge short", () => {
    expect(alertKindLabel("absences_today")).toBe("Absences today");
    expect(alertKindLabel("chronic")).toBe("Chronic absence");
    expect(alertKindLabel("new_kind")).toBe("Alert");
    expect([0, 3, 12].map(badgeText)).toEqual([null, "3", "9+"]);
  });
});
