// Who this window is for: the signed-in person when people sign in, or null on the office PC
// (this run's link), which may do everything. The server enforces every right; this only
// keeps the page from offering what it would refuse.

import type { Role, SignedInPerson } from "../api/types";

const RANK: Record<Role, number> = { viewer: 0, staff: 1, administrator: 2 };

/** Whether `person` (null: the office PC) has `needed` or a higher role. */
export function mayAct(person: SignedInPerson | null, needed: Role): boolean {
  return person === null || RANK[person.role] >= RANK[needed];
}

/** The views of the navigation a person may open; the office PC has no People view, and a
 * viewer of a Rollcall server (`viewing`) receives no webhooks: no Deliveries, no Setup. */
export function visibleViews(person: SignedInPerson | null, viewing = false): Set<string> {
  const views = new Set(["feed", "board", "reports"]);
  if (mayAct(person, "administrator")) {
    for (const v of viewing ? ["settings"] : ["deliveries", "setup", "settings"]) views.add(v);
    if (person !== null) views.add("people");
  }
  return views;
}

export function roleLabel(role: Role): string {
  return { viewer: "Viewer", staff: "Staff", administrator: "Administrator" }[role];
}

/** "every school" or the list, as a sentence part. */
export function schoolsLabel(schools: string[] | null): string {
  return schools === null ? "Every school" : schools.join(", ");
}

/** The schools typed in a field ("north, south"), or null for every school when empty. */
export function parseSchools(text: string): string[] | null {
  const list = text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return list.length === 0 ? null : [...new Set(list)];
}
