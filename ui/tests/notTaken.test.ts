import { describe, expect, it } from "vitest";
import { notTakenSection } from "../src/lib/board/notTaken";
import { exportNeedsDays, exportHref } from "../src/lib/reports/reportQuery";
import { alertKindLabel } from "../src/lib/reports/alerts";
import { parseNotTakenNotice } from "../src/lib/live/liveStream";
import { NameBook } from "../src/lib/names/nameBook";
import type { NotTakenView } from "../src/lib/api/types";

const names = NameBook.of({ classes: [{ tenant: "s", id: 35, name: "7B" }], courses: [{ tenant: "s", id: 40, name: "Maths" }] });

function view(patch: Partial<NotTakenView> = {}): NotTakenView {
  return {
    date: "2026-11-30",
    cutoff: "09:30",
    cutoffPassed: true,
    schoolDay: true,
    inferred: "DreamClass sends no timetable, so the lessons expected on a day are inferred.",
    lessons: [
      { date: "2026-11-30", tenant: "s", classId: 35, className: null, courseId: 40, courseName: null, lastTaken: "2026-11-23" },
      { date: "2026-11-30", tenant: "s", classId: 34, className: null, courseId: 41, courseName: null, lastTaken: "2026-11-16" },
    ],
    ...patch,
  };
}

describe("lessons not taken on the Today board", () => {
  it("lists the lessons after the cutoff, named as the window knows them, saying why each is expected", () => {
    const s = notTakenSection(view(), names, true);
    expect(s.state).toBe("list");
    expect(s.heading).toBe("Not taken yet");
    expect(s.text).toBe("2 lessons had no attendance by 09:30 today.");
    expect(s.rows.map((r) => r.label)).toEqual(["7B · Maths", "Class 34 · Course 41"]);
    expect(s.rows[0]!.because).toMatch(/^Expected: attendance on Mon,? 23 Nov 2026 \(same weekday\)$/);
    expect(s.inferred).toContain("inferred");
  });

  it("before the cutoff, the lessons are still to be taken, not missing", () => {
    const s = notTakenSection(view({ cutoffPassed: false }), names, true);
    expect(s.state).toBe("waiting");
    expect(s.heading).toBe("Still to be taken");
    expect(s.text).toBe("2 lessons expected today have no attendance yet. After 09:30 they count as not taken.");
    const none = notTakenSection(view({ cutoffPassed: false, lessons: [] }), names, true);
    expect(none.text).toContain("No lesson is expected today");
  });

  it("a day with nothing recorded is called a probable holiday, and a day with everything taken says so", () => {
    const holiday = notTakenSection(view({ schoolDay: false }), names, true);
    expect(holiday.state).toBe("holiday");
    expect(holiday.text).toContain("probably not a school day");
    const done = notTakenSection(view({ lessons: [] }), names, true);
    expect(done.state).toBe("all-taken");
    expect(done.text).toBe("Every lesson expected by 09:30 has attendance.");
    const past = notTakenSection(view(), names, false);
    expect(past.heading).toBe("Not taken");
    expect(past.text).toMatch(/^2 lessons had no attendance on .*30 Nov 2026\.$/);
  });

  it("the export needs days, and names one day as a range of one", () => {
    expect(exportNeedsDays("lessons-not-taken", {})).toBe("Choose the days above first.");
    expect(exportNeedsDays("lessons-not-taken", { from: "2026-11-30" })).toBeNull();
    expect(exportNeedsDays("students", {})).toBeNull();
    expect(exportHref("lessons-not-taken", { from: "2026-11-30", to: "2026-11-30" }, false, "en-GB")).toBe(
      "/api/export/lessons-not-taken.csv?from=2026-11-30&to=2026-11-30&excel=false",
    );
  });

  it("reads the server's cutoff notice and names the new alert", () => {
    const notice = { date: "2026-11-30", cutoff: "09:30", count: 2, message: "By 09:30, 2 lessons…" };
    expect(parseNotTakenNotice(JSON.stringify(notice))).toEqual(notice);
    expect(parseNotTakenNotice("{}")).toBeNull();
    expect(parseNotTakenNotice("not json")).toBeNull();
    expect(alertKindLabel("absent_days_in_row")).toBe("Absent days in a row");
  });
});
