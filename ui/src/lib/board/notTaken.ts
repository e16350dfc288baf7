// The Today board's "Not taken yet" section: the lessons expected on the day (inferred by the
// server from the four earlier same weekdays, since DreamClass sends no timetable) that have
// no attendance. Before the school's cutoff they are still to be taken; after it they are
// "not taken". A day with nothing recorded at all is most likely not a school day.

import type { NotTakenView } from "../api/types";
import type { NameBook } from "../names/nameBook";
import { attendanceDate } from "../time/format";

export type NotTakenRow = {
  classId: number;
  courseId: number;
  label: string;
  /** Why it is expected, e.g. "Expected: attendance on Mon 23 Nov 2026 (same weekday)". */
  because: string;
};

export type NotTakenSection = {
  /** "list": the rows are lessons not taken; otherwise the sentence says why there are none. */
  state: "waiting" | "holiday" | "all-taken" | "list";
  heading: string;
  text: string;
  rows: NotTakenRow[];
  /** The sentence saying the expected lessons are inferred (always shown). */
  inferred: string;
};

function lessons(n: number): string {
  return n === 1 ? "1 lesson" : `${n} lessons`;
}

/** Class name, then course name (the names as the window knows them now). */
export function notTakenRows(view: NotTakenView, names: NameBook): NotTakenRow[] {
  return view.lessons
    .map((l) => ({
      classId: l.classId,
      courseId: l.courseId,
      label: `${names.className(l.classId, l.tenant)} · ${names.course(l.courseId, l.tenant)}`,
      because: `Expected: attendance on ${attendanceDate(l.lastTaken)} (same weekday)`,
    }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

/** What the section shows for `view`. */
export function notTakenSection(view: NotTakenView, names: NameBook, isToday: boolean): NotTakenSection {
  const rows = notTakenRows(view, names);
  const inferred = view.inferred;
  const n = rows.length;
  if (!view.cutoffPassed) {
    const text =
      n === 0
        ? `No lesson is expected today from earlier weeks. After ${view.cutoff}, lessons without attendance would be listed here.`
        : `${lessons(n)} expected today ${n === 1 ? "has" : "have"} no attendance yet. After ${view.cutoff} ${n === 1 ? "it counts" : "they count"} as not taken.`;
    return { state: "waiting", heading: "Still to be taken", text, rows, inferred };
  }
  const heading = isToday ? "Not taken yet" : "Not taken";
  if (!view.schoolDay) {
    const text =
      n === 0
        ? "Nothing was recorded on this day and no lesson was expected."
        : `Nothing at all was recorded on this day, so it is probably not a school day (a holiday?). ${lessons(n)} would be expected from earlier weeks.`;
    return { state: "holiday", heading, text, rows, inferred };
  }
  if (n === 0) {
    return { state: "all-taken", heading, text: `Every lesson expected by ${view.cutoff} has attendance.`, rows, inferred };
  }
  const when = isToday ? `by ${view.cutoff} today` : `on ${attendanceDate(view.date)}`;
  return { state: "list", heading, text: `${lessons(n)} had no attendance ${when}.`, rows, inferred };
}
