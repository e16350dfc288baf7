// The school picker of the Feed, Today and Reports views: "All schools" or one school, one
// choice for the three views, remembered between runs. Shown only when the person can see
// more than one school; a Rollcall of one school (the office PC) looks as it always did.
//
// The choice is a DreamClass tenant (what the API filters on); `null` is "All schools".

import type { Change, RecordFilter } from "../api/types";

/** What the picker needs of a school (`SchoolView` in `GET /api/schools`). */
export type SchoolEntry = { id: string; name: string; tenant: string };

/** Where the choice is kept between runs (localStorage in a browser). */
export const SCHOOL_CHOICE_KEY = "rollcall.school";

/** The picker is offered only when there is a choice to make. */
export function pickerShown(schools: readonly SchoolEntry[] | null): boolean {
  return schools !== null && schools.length > 1;
}

/**
 * The school in force: the remembered one while it is still listed and there is more than one
 * school; otherwise "All schools" (null). A school removed, or one the person may no longer
 * see, falls back to "All schools".
 */
export function resolveSchoolChoice(remembered: string | null, schools: readonly SchoolEntry[] | null): string | null {
  if (remembered === null || remembered === "" || !pickerShown(schools)) return null;
  return schools!.some((s) => s.tenant === remembered) ? remembered : null;
}

/** The query parameter every read of the three views adds: `{tenant}` with a school chosen. */
export function schoolParams(tenant: string | null): { tenant?: string } {
  return tenant === null || tenant === "" ? {} : { tenant };
}

/** A filter narrowed to the chosen school; with "All schools", the filter as it is. */
export function withSchool<F extends RecordFilter>(filter: F, tenant: string | null): F {
  if (tenant === null || tenant === "") return filter;
  return { ...filter, tenant };
}

/**
 * Whether a live change belongs on screen: the stream sends every school the person may see,
 * so with one school chosen the others' changes are dropped here.
 */
export function streamAccepts(tenant: string | null, change: Pick<Change, "tenant">): boolean {
  return tenant === null || tenant === "" || change.tenant === tenant;
}

/** The school of a row, by its short name; its tenant when no listed school has it. */
export function schoolName(schools: readonly SchoolEntry[] | null, tenant: string): string {
  return schools?.find((s) => s.tenant === tenant)?.name ?? tenant;
}

/** The school's id for file names (`north`), or null with "All schools". */
export function schoolIdFor(schools: readonly SchoolEntry[] | null, tenant: string | null): string | null {
  if (tenant === null || tenant === "") return null;
  return schools?.find((s) => s.tenant === tenant)?.id ?? tenant;
}

/** Feed rows say their school only when rows of several schools can be on screen. */
export function showSchoolColumn(schools: readonly SchoolEntry[] | null, tenant: string | null): boolean {
  return pickerShown(schools) && (tenant === null || tenant === "");
}
