// From the feed's URL (filters + student search text) and the known names to what is asked
// of the server and what is filtered here, with a key that says when it really changed.

import type { FeedRoute } from "../routing/routes";
import type { NameBook } from "../names/nameBook";
import type { FeedQuery } from "./feedLoader";
import { filterToParams } from "./filters";
import { resolveStudentSearch, withStudentSearch } from "./studentSearch";

export function feedQueryFor(route: FeedRoute, names: NameBook): FeedQuery {
  const student = resolveStudentSearch(route.student, names.studentList());
  return { server: withStudentSearch(route.filter, student), student };
}

/** Equal keys mean the same rows: new names that resolve the search the same way reload nothing. */
export function feedQueryKey(query: FeedQuery): string {
  const s = query.student;
  const student =
    s.kind === "many" ? `many:${[...s.studentPeriodIds].sort((a, b) => a - b).join(",")}` : s.kind === "no-match" ? `none:${s.query}` : s.kind;
  return `${new URLSearchParams(filterToParams(query.server)).toString()}|${student}`;
}
