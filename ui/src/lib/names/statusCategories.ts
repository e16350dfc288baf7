// How each status counts (present, absent, late, excused, other): it drives badge colours and
// the reports. Rollcall guesses from the status's name; the user can correct it, or go back to
// the guess ("Automatic").

import type { StatusCategory } from "../api/types";

export const AUTOMATIC = "automatic";

export type CategoryChoice = StatusCategory | typeof AUTOMATIC;

export const CATEGORY_CHOICES: readonly { value: CategoryChoice; label: string }[] = [
  { value: "present", label: "Present" },
  { value: "absent", label: "Absent" },
  { value: "late", label: "Late" },
  { value: "excused", label: "Excused absence" },
  { value: "other", label: "Other (not counted)" },
  { value: AUTOMATIC, label: "Automatic (guess from the name)" },
];

/** The body of PUT /api/statuses/{id}/category: null goes back to the guess. */
export function categoryBody(choice: CategoryChoice): { category: StatusCategory | null } {
  return { category: choice === AUTOMATIC ? null : choice };
}

export function categoryLabel(category: StatusCategory): string {
  return CATEGORY_CHOICES.find((c) => c.value === category)?.label ?? category;
}
