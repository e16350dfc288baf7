// Arithmetic for the small SVG charts on the Reports page (no chart library: two charts do
// not need one). Pure functions, so axes and shapes are unit-tested.

/** An axis for counts (absences): whole steps of 1, 2 or 5 × 10^k, about `count` of them,
 * and a top that is a multiple of the step. */
export function countAxis(max: number, count = 4): { top: number; ticks: number[] } {
  if (!Number.isFinite(max) || max <= 0) return { top: 1, ticks: [0, 1] };
  const raw = max / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * power).find((c) => c >= raw - 1e-9) ?? 10 * power;
  step = Math.max(1, Math.round(step));
  const top = step * Math.max(1, Math.ceil(max / step - 1e-9));
  const out: number[] = [];
  for (let v = 0; v <= top; v += step) out.push(v);
  return { top, ticks: out };
}

/** Maps [0, domainMax] to [rangeStart, rangeEnd] (use start > end for an upward y axis). */
export function scaleLinear(domainMax: number, rangeStart: number, rangeEnd: number): (v: number) => number {
  const span = domainMax > 0 ? domainMax : 1;
  return (v) => rangeStart + (Math.max(0, Math.min(span, v)) / span) * (rangeEnd - rangeStart);
}

/** x positions for `n` evenly spaced points across [left, right]; one point sits in the middle. */
export function pointXs(n: number, left: number, right: number): number[] {
  if (n <= 0) return [];
  if (n === 1) return [(left + right) / 2];
  const step = (right - left) / (n - 1);
  return Array.from({ length: n }, (_, i) => left + i * step);
}

/** An SVG path through the points, "M x y L x y …", rounded to 0.1 px. */
export function linePath(points: readonly { x: number; y: number }[]): string {
  return points.map((p, i) => `${i === 0 ? "M" : "L"}${round(p.x)} ${round(p.y)}`).join(" ");
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

/** Which of `n` labels to print so that at most `max` fit; always the first and the last. */
export function labelIndices(n: number, max: number): number[] {
  if (n <= 0) return [];
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const every = Math.ceil((n - 1) / Math.max(1, max - 1));
  const out: number[] = [];
  for (let i = 0; i < n - 1; i += every) out.push(i);
  if (n - 1 - out[out.length - 1]! < every / 2 && out.length > 1) out.pop();
  out.push(n - 1);
  return out;
}
