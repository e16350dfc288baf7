// Names for the ids in attendance rows. DreamClass's webhooks carry only ids; names come from
// GET /api/reference when the resolver has them. Until then every id still reads as a plain
// label ("Student #4", "Class 34"), and a NameBook is an immutable snapshot: when a newer one
// replaces it, the rows on screen re-render with names in place.

import type { Reference, StatusCategory } from "../api/types";

export type StatusInfo = { name: string; category: StatusCategory };

const CATEGORIES: readonly StatusCategory[] = ["present", "absent", "late", "excused", "other"];

function toCategory(value: string): StatusCategory {
  const v = value.toLowerCase();
  return (CATEGORIES as readonly string[]).includes(v) ? (v as StatusCategory) : "other";
}

export class NameBook {
  private readonly statuses: ReadonlyMap<number, StatusInfo>;
  private readonly students: ReadonlyMap<number, string>;
  private readonly classes: ReadonlyMap<number, string>;
  private readonly courses: ReadonlyMap<number, string>;

  constructor(ref: Partial<Reference> = {}) {
    this.statuses = new Map((ref.statuses ?? []).map((s) => [s.id, { name: s.name, category: toCategory(s.category) }]));
    this.students = new Map((ref.students ?? []).map((s) => [s.studentPeriodId, s.name]));
    this.classes = new Map((ref.classes ?? []).map((c) => [c.id, c.name]));
    this.courses = new Map((ref.courses ?? []).map((c) => [c.id, c.name]));
  }

  static readonly empty = new NameBook();

  student(studentPeriodId: number): string {
    return this.students.get(studentPeriodId) ?? `Student #${studentPeriodId}`;
  }

  className(classId: number): string {
    return this.classes.get(classId) ?? `Class ${classId}`;
  }

  course(courseId: number): string {
    return this.courses.get(courseId) ?? `Course ${courseId}`;
  }

  status(statusId: number): string {
    return this.statuses.get(statusId)?.name ?? `Status ${statusId}`;
  }

  /** Drives the badge colour; an unknown status is "other" (neutral) until it is named. */
  statusCategory(statusId: number): StatusCategory {
    return this.statuses.get(statusId)?.category ?? "other";
  }

  /** Whether every id of a row has a name: if not, the names are worth asking for again. */
  knowsAll(row: { studentPeriodId: number; classId: number; courseId: number; statusBefore: number | null; statusAfter: number | null }): boolean {
    return (
      this.students.has(row.studentPeriodId) &&
      this.classes.has(row.classId) &&
      this.courses.has(row.courseId) &&
      (row.statusBefore === null || this.statuses.has(row.statusBefore)) &&
      (row.statusAfter === null || this.statuses.has(row.statusAfter))
    );
  }

  /** Lists for pickers, sorted by name. */
  statusList(): { id: number; name: string; category: StatusCategory }[] {
    return [...this.statuses].map(([id, s]) => ({ id, ...s })).sort((a, b) => a.name.localeCompare(b.name));
  }

  studentList(): { studentPeriodId: number; name: string }[] {
    return [...this.students].map(([studentPeriodId, name]) => ({ studentPeriodId, name })).sort((a, b) => a.name.localeCompare(b.name));
  }

  classList(): { id: number; name: string }[] {
    return [...this.classes].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name));
  }

  courseList(): { id: number; name: string }[] {
    return [...this.courses].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name));
  }
}
