// Which rows of a long list to put in the page. Rows have one fixed height, so the range is
// arithmetic and 100,000 rows cost no more than the 20 or so that fit on screen.

export type RowRange = { start: number; end: number };

/** Rows [start, end) to render: the visible ones plus `overscan` on each side. */
export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  count: number,
  overscan = 6,
): RowRange {
  if (count === 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const visible = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  const start = Math.max(0, Math.min(count - 1, first) - overscan);
  const end = Math.min(count, first + visible + overscan);
  return { start, end };
}

/** The scrollTop that brings row `index` fully into view, or null if it already is. */
export function scrollToReveal(
  index: number,
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
): number | null {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewportHeight) return bottom - viewportHeight;
  return null;
}

/** Whether the bottom of the list is within `rows` rows: time to read the next older page. */
export function nearEnd(scrollTop: number, viewportHeight: number, rowHeight: number, count: number, rows = 20): boolean {
  return scrollTop + viewportHeight >= (count - rows) * rowHeight;
}
