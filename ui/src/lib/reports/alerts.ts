// Threshold alerts (a student absent too often today, absent several school days in a row, or
// over the chronic threshold): listed
// on the Reports page, counted in the navigation until the page has been seen.

import type { Alert } from "../api/types";

export function alertKindLabel(kind: string): string {
  switch (kind) {
    case "absences_today":
      return "Absences today";
    case "absent_days_in_row":
      return "Absent days in a row";
    case "chronic":
      return "Chronic absence";
    default:
      return "Alert";
  }
}

/** Newest first; at the same time by name (null until DreamClass has named the student). */
export function sortAlerts(alerts: readonly Alert[]): Alert[] {
  return [...alerts].sort((a, b) => b.at - a.at || (a.name ?? "").localeCompare(b.name ?? ""));
}

/** Alerts raised after the user last opened the Reports page. */
export function unseenCount(alerts: readonly Alert[] | null, lastSeenAt: number): number {
  if (!alerts) return 0;
  return alerts.filter((a) => a.at > lastSeenAt).length;
}

/** The badge text: "9+" past nine so the tab stays narrow. */
export function badgeText(count: number): string | null {
  if (count <= 0) return null;
  return count > 9 ? "9+" : String(count);
}
