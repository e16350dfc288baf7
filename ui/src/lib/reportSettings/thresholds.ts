// The "Reports and alerts" form: the thresholds as a person types them (the chronic-absence
// threshold as a percentage) and as the API takes them (a share between 0 and 1). The limits
// are the server's (rollcall-core's report_limits); checking them here too lets the form say
// which field is wrong before anything is sent.

import type { ReportThresholds } from "../api/types";

export const MAX_TERM_DAYS = 366;

/**
 * The form's fields, as typed. `minDays` (days with records before chronic absence is judged)
 * is absent when the server did not send it, and then not sent back.
 */
export type ThresholdsForm = { percent: string; absencesPerDay: string; termDays: string; minDays?: string };

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
  if (Object.keys(problems).length > 0 || share === null || absences === null || days === null || minDays === null) {
    return { ok: false, problems };
  }
  const thresholds: ReportThresholds = { chronicThreshold: share, absencesPerDay: absences, termDays: days };
  if (minDays !== undefined) thresholds.chronicMinDays = minDays;
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
    "Reports and alerts use this from now on."
  );
}
