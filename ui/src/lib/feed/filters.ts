// The feed's filters. `ServerFilter` is the server's RecordFilter (generated from it), and
// `matchesServerFilter` applies exactly its rules, so a live row is shown if and only if the
// server would have returned it for the same query. A status filter is on the status after
// the change: a delete (statusAfter null) never matches.

import type { Change, RecordFilter } from "../api/types";

export type ServerFilter = RecordFilter;

const STRING_KEYS = ["date", "from", "to", "tenant"] as const;
const NUMBER_KEYS = ["classId", "courseId", "statusId", "studentPeriodId", "attendanceId"] as const;

export function matchesServerFilter(f: ServerFilter, c: Change): boolean {
  return (
    (f.date === undefined || c.date === f.date) &&
    // Dates are YYYY-MM-DD, so string order is date order (as in the server's SQL).
    (f.from === undefined || c.date >= f.from) &&
    (f.to === undefined || c.date <= f.to) &&
    (f.classId === undefined || c.classId === f.classId) &&
    (f.courseId === undefined || c.courseId === f.courseId) &&
    (f.statusId === undefined || c.statusAfter === f.statusId) &&
    (f.studentPeriodId === undefined || c.studentPeriodId === f.studentPeriodId) &&
    (f.attendanceId === undefined || c.attendanceId === f.attendanceId) &&
    (f.tenant === undefined || c.tenant === f.tenant)
  );
}

/** Query parameters for the server, omitting what is not set. */
export function filterToParams(f: ServerFilter): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of STRING_KEYS) {
    const v = f[k];
    if (v !== undefined && v !== "") out[k] = v;
  }
  for (const k of NUMBER_KEYS) {
    const v = f[k];
    if (v !== undefined) out[k] = String(v);
  }
  return out;
}

/** Reads a filter from query parameters (the feed's URL), ignoring anything malformed. */
export function filterFromParams(params: URLSearchParams): ServerFilter {
  const f: ServerFilter = {};
  for (const k of STRING_KEYS) {
    const v = params.get(k);
    if (v !== null && v !== "") f[k] = v;
  }
  for (const k of NUMBER_KEYS) {
    const v = params.get(k);
    if (v !== null && /^-?\d+$/.test(v)) f[k] = Number(v);
  }
  return f;
}

export function isEmptyFilter(f: ServerFilter): boolean {
  return Object.keys(filterToParams(f)).length === 0;
}

export function sameFilter(a: ServerFilter, b: ServerFilter): boolean {
  const pa = filterToParams(a);
  const pb = filterToParams(b);
  const keys = new Set([...Object.keys(pa), ...Object.keys(pb)]);
  for (const k of keys) if (pa[k] !== pb[k]) return false;
  return true;
}
