// Shapes GET /api/reports/summary for the page: classes in the order people read them, days
// in date order, the chronic list worst first, and rates as percentages.

import type { ReportSummary } from "../api/types";

// Ids are DreamClass's within one school: `key` (school and id) tells two schools' class 12
// apart when a report covers several schools.
export type ClassBar = { key: string; tenant: string; id: number; name: string; sessions: number; absent: number; rate: number; percent: string; low: boolean };
export type DayPoint = { date: string; absent: number; sessions: number };
export type ChronicRow = { key: string; tenant: string; studentPeriodId: number; name: string; sessions: number; absent: number; rate: number; percent: string };

export type ShapedSummary = {
  classes: ClassBar[];
  days: DayPoint[];
  chronic: ChronicRow[];
  threshold: number;
  thresholdPercent: string;
  /** Students not judged yet: fewer than `minDays` days with records in the range. */
  tooEarly: number;
  minDays: number;
  totals: { sessions: number; absent: number; rate: number | null };
  empty: boolean;
};

function clampRate(r: number): number {
  return Number.isFinite(r) ? Math.max(0, Math.min(1, r)) : 0;
}

/** "93.4%", "100%", "0%": one decimal, none when whole. */
export function formatPercent(rate: number): string {
  const p = Math.round(clampRate(rate) * 1000) / 10;
  return `${Number.isInteger(p) ? p.toFixed(0) : p.toFixed(1)}%`;
}

export function shapeSummary(s: ReportSummary): ShapedSummary {
  const threshold = clampRate(s.threshold ?? 0.1);
  // Over several schools, each name says its school: two schools may both have a "5A".
  const schools = new Set([...(s.byClass ?? []), ...(s.chronic ?? [])].map((c) => c.tenant));
  const ofSchool = (name: string, tenant: string) => (schools.size > 1 ? `${name} (${tenant})` : name);
  const classes = (s.byClass ?? [])
    .map((c) => {
      const rate = clampRate(c.rate);
      // A class attends "low" when its attendance is below what a chronic student misses.
      return { key: `${c.tenant}/${c.id}`, tenant: c.tenant, id: c.id, name: ofSchool(c.name || `Class ${c.id}`, c.tenant), sessions: c.sessions, absent: c.absent, rate, percent: formatPercent(rate), low: c.sessions > 0 && rate < 1 - threshold };
    })
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  const byDate = new Map<string, DayPoint>();
  for (const d of s.byDay ?? []) {
    const prev = byDate.get(d.date);
    byDate.set(d.date, prev ? { date: d.date, absent: prev.absent + d.absent, sessions: prev.sessions + d.sessions } : { ...d });
  }
  const days = [...byDate.values()].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  const chronic = (s.chronic ?? [])
    .map((c) => ({ ...c, key: `${c.tenant}/${c.studentPeriodId}`, name: ofSchool(c.name || `Student #${c.studentPeriodId}`, c.tenant), rate: clampRate(c.rate), percent: formatPercent(c.rate) }))
    .sort((a, b) => b.rate - a.rate || b.absent - a.absent || a.name.localeCompare(b.name));
  const sessions = classes.reduce((n, c) => n + c.sessions, 0);
  const absent = classes.reduce((n, c) => n + c.absent, 0);
  const attended = (s.byClass ?? []).reduce((n, c) => n + clampRate(c.rate) * c.sessions, 0);
  return {
    classes,
    days,
    chronic,
    threshold,
    thresholdPercent: formatPercent(threshold),
    tooEarly: s.tooEarly ?? 0,
    minDays: s.minDays ?? 0,
    totals: { sessions, absent, rate: sessions > 0 ? attended / sessions : null },
    empty: classes.length === 0 && days.length === 0 && chronic.length === 0,
  };
}

/**
 * After "Too early to tell for": how many students are not judged yet and why, e.g.
 * "3 students: fewer than 10 school days with records in this range, so they are not flagged yet."
 */
export function tooEarlyText(students: number, minDays: number): string {
  const who = students === 1 ? "1 student" : `${students.toLocaleString("en-GB")} students`;
  const days = minDays === 1 ? "1 school day" : `${minDays} school days`;
  return `${who}: fewer than ${days} with records in this range, so ${students === 1 ? "this student is" : "they are"} not flagged yet.`;
}
