// The board's status columns: every status counted that day, in the order a school reads
// them (present, late, absent, excused, others), then by name.

import type { Board, BoardGroup, StatusCategory } from "../api/types";
import type { NameBook } from "../names/nameBook";

const CATEGORY_ORDER: readonly StatusCategory[] = ["present", "late", "absent", "excused", "other"];

export function boardStatusColumns(board: Board, names: NameBook): number[] {
  const ids = new Set<number>();
  for (const g of [...board.byClass, ...board.byCourse]) for (const k of Object.keys(g.counts)) ids.add(Number(k));
  return [...ids].sort((a, b) => {
    const ca = CATEGORY_ORDER.indexOf(names.statusCategory(a));
    const cb = CATEGORY_ORDER.indexOf(names.statusCategory(b));
    if (ca !== cb) return ca - cb;
    return names.status(a).localeCompare(names.status(b), undefined, { numeric: true });
  });
}

export function countFor(group: BoardGroup, statusId: number): number {
  return group.counts[statusId] ?? 0;
}

/** Groups sorted by their name as shown ("Class 9" before "Class 10"). */
export function sortGroups(groups: readonly BoardGroup[], label: (id: number) => string): BoardGroup[] {
  return [...groups].sort((a, b) => label(a.id).localeCompare(label(b.id), undefined, { numeric: true }));
}
