// The student search box. The server filters by one studentPeriodId only, so a search is
// resolved against the known names: one match becomes a server filter (fast, and complete
// over the whole history); several matches are filtered here over the rows loaded.

import type { ServerFilter } from "./filters";

export type StudentSearch =
  | { kind: "none" }
  | { kind: "one"; studentPeriodId: number }
  | { kind: "many"; studentPeriodIds: ReadonlySet<number> }
  | { kind: "no-match"; query: string };

/** Case- and accent-insensitive form, so "Zoe" finds "Zoë". */
export function foldForSearch(s: string): string {
  return s
    .normalize("NFD")
    .replace(/\p{Diacritic}/gu, "")
    .toLocaleLowerCase()
    .trim();
}

export function resolveStudentSearch(
  query: string,
  students: readonly { studentPeriodId: number; name: string }[],
): StudentSearch {
  const q = foldForSearch(query);
  if (q === "") return { kind: "none" };
  // "4", "#4" or "student #4": the id itself, which is all the user sees while names are unknown.
  const idMatch = /^(?:student\s*)?#?\s*(\d+)$/.exec(q);
  if (idMatch) return { kind: "one", studentPeriodId: Number(idMatch[1]) };
  const exact = students.filter((s) => foldForSearch(s.name) === q);
  const matches = exact.length > 0 ? exact : students.filter((s) => foldForSearch(s.name).includes(q));
  if (matches.length === 0) return { kind: "no-match", query: query.trim() };
  if (matches.length === 1) return { kind: "one", studentPeriodId: matches[0]!.studentPeriodId };
  return { kind: "many", studentPeriodIds: new Set(matches.map((s) => s.studentPeriodId)) };
}

/** The server filter once the search is folded in. */
export function withStudentSearch(base: ServerFilter, search: StudentSearch): ServerFilter {
  if (search.kind !== "one") return base;
  return { ...base, studentPeriodId: search.studentPeriodId };
}

/** The rule applied here, on top of the server's, for searches the server cannot express. */
export function studentSearchAccepts(search: StudentSearch, studentPeriodId: number): boolean {
  switch (search.kind) {
    case "none":
    case "one":
      return true;
    case "many":
      return search.studentPeriodIds.has(studentPeriodId);
    case "no-match":
      return false;
  }
}
