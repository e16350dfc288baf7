// From the feed's URL (filters + student search text) and the known names to what is asked
// of the server and what is filtered here, with a key that says when it really changed.

import type { FeedRoute } from "../routing/routes";
import type { NameBook } from "../names/nameBook";
import type { FeedQuery } from "./feedLoader";
import { filterToParams } from "./filters";
import { resolveStudentSearch, withStudentSearch } from "./studentSearch";
import { withSchool } from "../schools/schoolChoice";

/** `school`: the school picker's choice (a tenant), null for all schools. It narrows what the
 * server is asked for and, through the same filter, the live rows kept (the stream is shared). */
export function feedQueryFor(route: FeedRoute, names: NameBook, school: string | null = null): FeedQuery {
  const student = resolveStudentSearch(route.student, names.studentList());
  return { server: withSchool(withStudentSearch(route.filter, student), school), student };
}

/** Equal keys mean the same rows: new names that resolve the search the same way reload nothing. */
export function feedQueryKey(query: FeedQuery): string {
  const s = query.student;
  const student =
    s.kind === "many" ? `many:${[...s.studentPeriodIds].sort((a, b) => a - b).join(",")}` : s.kind === "no-match" ? `none:${s.query}` : s.kind;
  return `${new URLSearchParams(filterToParams(query.server)).toString()}|${student}`;
}
