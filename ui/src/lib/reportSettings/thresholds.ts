// The "Reports and alerts" form: the thresholds as a person types them (the chronic-absence
// threshold as a percentage) and as the API takes them (a share between 0 and 1). The limits
// are the server's (rollcall-core's report_limits); checking them here too lets the form say
// which field is wrong before anything is sent.

import type { ReportThresholds } from "../api/types";

export const MAX_TERM_DAYS = 366;
export const MAX_ABSENT_DAYS_IN_ROW = 30;
/** The cutoff may be chosen between these times (HH:MM, the office's local time). */
export const EARLIEST_CUTOFF = "05:00";
export const LATEST_CUTOFF = "20:00";

/**
 * The form's fields, as typed. `minDays` (days with records before chronic absence is judged),
 * `inRow` (absent school days in a row) and `cutoff` (the lesson cutoff, HH:MM) are absent
 * when the server did not send them, and then not sent back.
 */
export type ThresholdsForm = {
  percent: string;
  absencesPerDay: string;
  termDays: string;
  minDays?: string;
  inRow?: string;
  cutoff?: string;
};

/** "9:30" or "09:30" as "09:30"; null when it is not a time of day on a 24-hour clock. */
export function cutoffText(text: string): string | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const [h, min] = [Number(m[1]), Number(m[2])];
  if (h > 23 || min > 59) return null;
  return `${String(h).padStart(2, "0")}:${m[2]}`;
}

export type ThresholdsField = keyof ThresholdsForm;

export type ThresholdsCheck =
  | { ok: true; thresholds: ReportThresholds }
  | { ok: false; problems: Partial<Record<ThresholdsField, string>> };

/**
 * A share as the percentage to show: 0.1 → "10", 0.125 → "12.5". Rounded to thousandths of
 * a percent so that float noise (0.07 * 100 = 7.000000000000001) never reaches the field.
 */
export function shareToPercentText(share: number): string {
  return String(Math.round(share * 100_000) / 1000);
}

/**
 * A typed percentage as a share: "10" or "10 %" → 0.1; a decimal comma is read as a point
 * ("12,5" → 0.125). The share keeps millionths, the precision the server compares with.
 * null when the text is not a number.
 */
export function percentTextToShare(text: string): number | null {
  const cleaned = text.trim().replace(/\s*%$/, "").replace(",", ".");
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(cleaned)) return null;
  return Math.round(Number(cleaned) * 10_000) / 1_000_000;
}

/** A whole number as typed, or null. */
function wholeNumber(text: string): number | null {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : null;
}

/** The fields filled in from saved thresholds. */
export function thresholdsToForm(t: ReportThresholds): ThresholdsForm {
  const form: ThresholdsForm = {
    percent: shareToPercentText(t.chronicThreshold),
    absencesPerDay: String(t.absencesPerDay),
    termDays: String(t.termDays),
  };
  if (t.chronicMinDays !== undefined) form.minDays = String(t.chronicMinDays);
  if (t.absentDaysInRow !== undefined) form.inRow = String(t.absentDaysInRow);
  if (t.lessonCutoff !== undefined) form.cutoff = t.lessonCutoff;
  return form;
}

/** The form checked field by field: the thresholds to save, or a sentence per wrong field. */
export function checkThresholdsForm(form: ThresholdsForm): ThresholdsCheck {
  const problems: Partial<Record<ThresholdsField, string>> = {};
  const share = percentTextToShare(form.percent);
  if (share === null) problems.percent = "Enter the threshold as a percentage, such as 10.";
  else if (share < 0 || share > 1) problems.percent = "Choose a percentage between 0 and 100.";
  const absences = wholeNumber(form.absencesPerDay);
  if (absences === null || absences < 1) problems.absencesPerDay = "Enter a whole number of absences, 1 or more.";
  const days = wholeNumber(form.termDays);
  if (days === null || days < 1 || days > MAX_TERM_DAYS) {
    problems.termDays = `Enter the term length as a whole number of days, from 1 to ${MAX_TERM_DAYS}.`;
  }
  const minDays = form.minDays === undefined ? undefined : wholeNumber(form.minDays);
  if (minDays === null || (minDays !== undefined && (minDays < 1 || minDays > MAX_TERM_DAYS))) {
    problems.minDays = `Enter the number of school days as a whole number, from 1 to ${MAX_TERM_DAYS}.`;
  }
  const inRow = form.inRow === undefined ? undefined : wholeNumber(form.inRow);
  if (inRow === null || (inRow !== undefined && (inRow < 2 || inRow > MAX_ABSENT_DAYS_IN_ROW))) {
    problems.inRow = `Enter the number of school days in a row as a whole number, from 2 to ${MAX_ABSENT_DAYS_IN_ROW}.`;
  }
  const cutoff = form.cutoff === undefined ? undefined : cutoffText(form.cutoff);
  // "HH:MM" strings compare as times.
  if (cutoff === null || (cutoff !== undefined && (cutoff < EARLIEST_CUTOFF || cutoff > LATEST_CUTOFF))) {
    problems.cutoff = `Enter the cutoff as a time between ${EARLIEST_CUTOFF} and ${LATEST_CUTOFF}, such as 09:30.`;
  }
  if (
    Object.keys(problems).length > 0 ||
    share === null ||
    absences === null ||
    days === null ||
    minDays === null ||
    inRow === null ||
    cutoff === null
  ) {
    return { ok: false, problems };
  }
  const thresholds: ReportThresholds = { chronicThreshold: share, absencesPerDay: absences, termDays: days };
  if (minDays !== undefined) thresholds.chronicMinDays = minDays;
  if (inRow !== undefined) thresholds.absentDaysInRow = inRow;
  if (cutoff !== undefined) thresholds.lessonCutoff = cutoff;
  return { ok: true, thresholds };
}

/** The confirmation after saving: what the thresholds now mean, in a sentence. */
export function thresholdsSavedMessage(t: ReportThresholds): string {
  const absences = `${t.absencesPerDay} absence${t.absencesPerDay === 1 ? "" : "s"}`;
  const days = `${t.termDays} day${t.termDays === 1 ? "" : "s"}`;
  return (
    `Saved. Students who miss ${shareToPercentText(t.chronicThreshold)}% of lessons or more count as chronically ` +
    `absent (alerts look at the last ${days}), and ${absences} in one day raise${t.absencesPerDay === 1 ? "s" : ""} an alert. ` +
    (t.chronicMinDays === undefined
      ? ""
      : `Before ${t.chronicMinDays} school day${t.chronicMinDays === 1 ? "" : "s"} with records, a student is shown as too early to tell. `) +
    (t.absentDaysInRow === undefined ? "" : `${t.absentDaysInRow} absent school days in a row raise an alert. `) +
    (t.lessonCutoff === undefined ? "" : `After ${t.lessonCutoff}, lessons without attendance are shown as not taken. `) +
    "Reports and alerts use this from now on."
  );
}
