// The Reports page's filters: kept in the page's address (so Print and the back button keep
// them), turned into export links and the summary's query.

import type { ExportKind } from "../api/types";
import type { ServerFilter } from "../feed/filters";

/** The part of the server's one filter (RecordFilter) the Reports page offers. `tenant` is
 * the school picker's choice: not kept in the page's address (the picker remembers it). */
export type ReportFilter = Pick<ServerFilter, "from" | "to" | "classId" | "courseId" | "statusId" | "studentPeriodId" | "tenant">;

const DATE_KEYS = ["from", "to"] as const;
const ID_KEYS = ["classId", "courseId", "statusId", "studentPeriodId"] as const;
const ISO = /^\d{4}-\d{2}-\d{2}$/;

export function reportFilterFromParams(params: URLSearchParams): ReportFilter {
  const f: ReportFilter = {};
  for (const k of DATE_KEYS) {
    const v = params.get(k);
    if (v !== null && ISO.test(v)) f[k] = v;
  }
  for (const k of ID_KEYS) {
    const v = params.get(k);
    if (v !== null && /^\d+$/.test(v)) f[k] = Number(v);
  }
  return f;
}

export function reportFilterToParams(f: ReportFilter): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of DATE_KEYS) if (f[k] !== undefined && f[k] !== "") out[k] = f[k]!;
  for (const k of ID_KEYS) if (f[k] !== undefined) out[k] = String(f[k]);
  if (f.tenant !== undefined && f.tenant !== "") out["tenant"] = f.tenant;
  return out;
}

export const EXPORTS: readonly { kind: ExportKind; label: string; description: string }[] = [
  { kind: "attendance", label: "Attendance records", description: "Every record as it is now, one row per student and lesson, with names." },
  { kind: "changes", label: "Change log", description: "Every change, before and after, as received from DreamClass or recovered: the audit trail." },
  { kind: "students", label: "Per student", description: "Sessions, present, absent, late, excused and attendance rate per student, with the chronic-absence flag." },
  { kind: "classes", label: "Per class, by day", description: "The same counts and rates for each class and day." },
  { kind: "courses", label: "Per course, by day", description: "The same counts and rates for each course and day." },
  {
    kind: "lessons-not-taken",
    label: "Lessons not taken",
    description:
      "For each day chosen, the lessons with no attendance. Expected lessons are inferred (DreamClass sends no timetable): a class and course with attendance on the same weekday in the four weeks before.",
  },
];

/** Exports that need days chosen (lessons not taken are for named days, at most 366). */
export function exportNeedsDays(kind: ExportKind, f: ReportFilter): string | null {
  if (kind !== "lessons-not-taken" || f.from || f.to) return null;
  return "Choose the days above first.";
}

/**
 * The separator Excel expects where `locale` is used: `;` where numbers are written with a
 * decimal comma (de-DE, el-GR, fr-FR …), `,` elsewhere.
 */
export function excelSeparatorFor(locale: string): "," | ";" {
  try {
    const parts = new Intl.NumberFormat(locale).formatToParts(1.5);
    return parts.find((p) => p.type === "decimal")?.value === "," ? ";" : ",";
  } catch {
    return ",";
  }
}

function browserLocale(): string {
  return typeof navigator !== "undefined" && navigator.language ? navigator.language : "en";
}

/**
 * A download link: a plain GET the browser streams to a file, however large. For Excel the
 * separator follows the user's locale, as Excel itself does.
 */
export function exportHref(
  kind: ExportKind,
  f: ReportFilter,
  excel: boolean,
  locale: string = browserLocale(),
): string {
  return `/api/export/${kind}.csv?${exportQuery(f, excel, locale)}`;
}

/** How an export is written (ExportParams in rollcall_core::reports). */
export type ExportOptions = { excel: boolean; separator?: "," | ";" };

/** The format of an export: for Excel the separator follows the user's locale. */
export function exportOptions(excel: boolean, locale: string = browserLocale()): ExportOptions {
  return excel ? { excel, separator: excelSeparatorFor(locale) } : { excel };
}

/** The filter as the server's RecordFilter reads it: only the values that are set. */
export function exportFilter(f: ReportFilter): ReportFilter {
  const out: ReportFilter = {};
  for (const k of DATE_KEYS) if (f[k] !== undefined && f[k] !== "") out[k] = f[k]!;
  for (const k of ID_KEYS) if (f[k] !== undefined) out[k] = f[k]!;
  if (f.tenant !== undefined && f.tenant !== "") out.tenant = f.tenant;
  return out;
}

/**
 * The query string of an export: the filter and the format. The desktop's "Save" sends the
 * same filter and options as typed values, so a saved file and a downloaded one are the same
 * bytes.
 */
export function exportQuery(f: ReportFilter, excel: boolean, locale: string = browserLocale()): string {
  const q = new URLSearchParams(reportFilterToParams(f));
  const options = exportOptions(excel, locale);
  q.set("excel", options.excel ? "true" : "false");
  if (options.separator) q.set("separator", options.separator);
  return q.toString();
}

/**
 * "rollcall-attendance-2025-06-01-to-2025-06-30.csv"; of one school, its id after the kind:
 * "rollcall-attendance-north-2025-06-01.csv" (as the server names it).
 */
export function exportFileName(kind: ExportKind, f: ReportFilter, schoolId: string | null = null): string {
  const range = f.from && f.to ? (f.from === f.to ? `-${f.from}` : `-${f.from}-to-${f.to}`) : f.from ? `-from-${f.from}` : f.to ? `-until-${f.to}` : "";
  const school = schoolId ? `-${schoolId.replace(/[^A-Za-z0-9_-]/g, "-")}` : "";
  return `rollcall-${kind}${school}${range}.csv`;
}

/** The summary takes only dates, class, course and the school. */
export function summaryParams(f: ReportFilter): Record<string, string> {
  const all = reportFilterToParams(f);
  const out: Record<string, string> = {};
  for (const k of ["from", "to", "classId", "courseId", "tenant"]) if (all[k] !== undefined) out[k] = all[k]!;
  return out;
}

/** A sentence when the range cannot be right, else null. */
export function rangeProblem(f: ReportFilter): string | null {
  if (f.from && f.to && f.from > f.to) return "The first day is after the last day: swap them.";
  return null;
}

function parseIso(d: string): Date {
  const [y, m, day] = d.split("-").map(Number);
  return new Date(Date.UTC(y!, m! - 1, day!));
}

function iso(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export type RangePreset = { label: string; from: string; to: string };

/** Quick ranges from today (YYYY-MM-DD): weeks start on Monday. */
export function rangePresets(today: string): RangePreset[] {
  const t = parseIso(today);
  const weekday = (t.getUTCDay() + 6) % 7; // Monday 0
  const monday = new Date(t.getTime() - weekday * 86_400_000);
  const monthStart = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1));
  const lastMonthStart = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() - 1, 1));
  const lastMonthEnd = new Date(monthStart.getTime() - 86_400_000);
  const thirtyAgo = new Date(t.getTime() - 29 * 86_400_000);
  return [
    { label: "Today", from: today, to: today },
    { label: "This week", from: iso(monday), to: today },
    { label: "This month", from: iso(monthStart), to: today },
    { label: "Last month", from: iso(lastMonthStart), to: iso(lastMonthEnd) },
    { label: "Last 30 days", from: iso(thirtyAgo), to: today },
  ];
}

/** The range a new Reports page starts with: this month so far. */
export function defaultRange(today: string): { from: string; to: string } {
  return { from: `${today.slice(0, 7)}-01`, to: today };
}
