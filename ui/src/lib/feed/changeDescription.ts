// How one change reads in a row: the status move and the words for creations and deletions.

import type { Change } from "../api/types";
import type { NameBook } from "../names/nameBook";

export type StatusChange =
  | { kind: "new"; after: number }
  | { kind: "deleted"; before: number | null }
  | { kind: "changed"; before: number; after: number }
  | { kind: "same"; status: number };

export function statusChange(c: Pick<Change, "statusBefore" | "statusAfter">): StatusChange {
  if (c.statusAfter === null) return { kind: "deleted", before: c.statusBefore };
  if (c.statusBefore === null) return { kind: "new", after: c.statusAfter };
  if (c.statusBefore === c.statusAfter) return { kind: "same", status: c.statusAfter };
  return { kind: "changed", before: c.statusBefore, after: c.statusAfter };
}

/** "Present → Absent", "Absent (new)", "Deleted (was Late)", "Present (comment changed)". */
export function statusChangeText(c: Change, names: NameBook): string {
  const s = statusChange(c);
  switch (s.kind) {
    case "new":
      return `${names.status(s.after, c.tenant)} (new)`;
    case "deleted":
      return s.before === null ? "Deleted" : `Deleted (was ${names.status(s.before, c.tenant)})`;
    case "changed":
      return `${names.status(s.before, c.tenant)} → ${names.status(s.after, c.tenant)}`;
    case "same":
      return c.commentBefore !== c.commentAfter ? `${names.status(s.status, c.tenant)} (comment changed)` : names.status(s.status, c.tenant);
  }
}

/** "Session" for SESSION (one per lesson); other kinds are daily attendance. */
export function kindLabel(kind: string): string {
  if (kind.toUpperCase() === "SESSION") return "Session";
  const words = kind.toLowerCase().replace(/_/g, " ");
  return words.includes("daily") ? `${words[0]!.toUpperCase()}${words.slice(1)}` : `Daily (${words})`;
}

/** The comment as it is after the change; for a delete, the last one it had. */
export function currentComment(c: Change): string {
  return (c.statusAfter === null ? c.commentBefore : c.commentAfter) ?? "";
}

/** What a change did to the record, read from its before and after (DreamClass's event type
 * alone can mislead: a re-sent "created" may change a status that already existed). */
export function whatHappened(c: Pick<Change, "statusBefore" | "statusAfter" | "commentBefore" | "commentAfter">): string {
  const s = statusChange(c);
  switch (s.kind) {
    case "new":
      return "Created";
    case "deleted":
      return "Deleted";
    case "changed":
      return "Status changed";
    case "same":
      return c.commentBefore !== c.commentAfter ? "Comment changed" : "Sent again, no change";
  }
}
