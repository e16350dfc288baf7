// Names for the ids in attendance rows. DreamClass's webhooks carry only ids; names come from
// GET /api/reference when the resolver has them. Until then every id still reads as a plain
// label ("Student #4", "Class 34"), and a NameBook is an immutable snapshot: when a newer one
// replaces it, the rows on screen re-render with names in place.
//
// Ids are DreamClass's within one school (class 12 of one school is not class 12 of another),
// so every name is kept under its school (tenant). A row names its own school; a lookup
// without one (a filter, a board column) reads the school the picker chose, or, for "All
// schools", the first school that has the id.

import type { Reference, StatusCategory } from "../api/types";

export type StatusInfo = { name: string; category: StatusCategory };

const CATEGORIES: readonly StatusCategory[] = ["present", "absent", "late", "excused", "other"];

function toCategory(value: string): StatusCategory {
  const v = value.toLowerCase();
  return (CATEGORIES as readonly string[]).includes(v) ? (v as StatusCategory) : "other";
}

/** The names of one kind: per school, and by id alone for lookups without a school. */
class Names<T> {
  private readonly bySchool = new Map<string, Map<number, T>>();

  constructor(entries: { tenant: string; id: number; value: T }[]) {
    for (const e of entries) {
      let school = this.bySchool.get(e.tenant);
      if (!school) this.bySchool.set(e.tenant, (school = new Map()));
      school.set(e.id, e.value);
    }
  }

  /** The name of `id` in `tenant`; with no tenant, in `school` (or, if null, any school). */
  get(id: number, tenant: string | undefined, school: string | null): T | undefined {
    const wanted = tenant ?? school;
    if (wanted !== null && wanted !== undefined) return this.bySchool.get(wanted)?.get(id);
    for (const names of this.bySchool.values()) {
      const found = names.get(id);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** Every (school, id) with its name. */
  all(): { tenant: string; id: number; value: T }[] {
    return [...this.bySchool].flatMap(([tenant, names]) => [...names].map(([id, value]) => ({ tenant, id, value })));
  }

  /** Every id with its name, of `school` (or, if null, of every school, each id once). */
  list(school: string | null): [number, T][] {
    const out = new Map<number, T>();
    for (const [tenant, names] of this.bySchool) {
      if (school !== null && tenant !== school) continue;
      for (const [id, value] of names) if (!out.has(id)) out.set(id, value);
    }
    return [...out];
  }
}

type Book = {
  statuses: Names<StatusInfo>;
  students: Names<string>;
  classes: Names<string>;
  courses: Names<string>;
};

function bookOf(ref: Partial<Reference>): Book {
  return {
    statuses: new Names((ref.statuses ?? []).map((s) => ({ tenant: s.tenant, id: s.id, value: { name: s.name, category: toCategory(s.category) } }))),
    students: new Names((ref.students ?? []).map((s) => ({ tenant: s.tenant, id: s.studentPeriodId, value: s.name }))),
    classes: new Names((ref.classes ?? []).map((c) => ({ tenant: c.tenant, id: c.id, value: c.name }))),
    courses: new Names((ref.courses ?? []).map((c) => ({ tenant: c.tenant, id: c.id, value: c.name }))),
  };
}

export class NameBook {
  private constructor(
    private readonly book: Book,
    /** The school lookups without a tenant read; null for "All schools". */
    readonly school: string | null,
  ) {}

  static of(ref: Partial<Reference> = {}): NameBook {
    return new NameBook(bookOf(ref), null);
  }

  static readonly empty = NameBook.of();

  /** The same names, with lookups that name no school reading `school` (null: any). */
  forSchool(school: string | null): NameBook {
    return school === this.school ? this : new NameBook(this.book, school);
  }

  student(studentPeriodId: number, tenant?: string): string {
    return this.book.students.get(studentPeriodId, tenant, this.school) ?? `Student #${studentPeriodId}`;
  }

  className(classId: number, tenant?: string): string {
    return this.book.classes.get(classId, tenant, this.school) ?? `Class ${classId}`;
  }

  course(courseId: number, tenant?: string): string {
    return this.book.courses.get(courseId, tenant, this.school) ?? `Course ${courseId}`;
  }

  status(statusId: number, tenant?: string): string {
    return this.book.statuses.get(statusId, tenant, this.school)?.name ?? `Status ${statusId}`;
  }

  /** Drives the badge colour; an unknown status is "other" (neutral) until it is named. */
  statusCategory(statusId: number, tenant?: string): StatusCategory {
    return this.book.statuses.get(statusId, tenant, this.school)?.category ?? "other";
  }

  /** Whether every id of a row has a name in its school: if not, the names are worth asking
   * for again. */
  knowsAll(row: { tenant?: string; studentPeriodId: number; classId: number; courseId: number; statusBefore: number | null; statusAfter: number | null }): boolean {
    const t = row.tenant;
    const known = <T>(names: Names<T>, id: number) => names.get(id, t, this.school) !== undefined;
    return (
      known(this.book.students, row.studentPeriodId) &&
      known(this.book.classes, row.classId) &&
      known(this.book.courses, row.courseId) &&
      (row.statusBefore === null || known(this.book.statuses, row.statusBefore)) &&
      (row.statusAfter === null || known(this.book.statuses, row.statusAfter))
    );
  }

  /** Lists for pickers, sorted by name: of the chosen school, or each id once. */
  statusList(): { id: number; name: string; category: StatusCategory }[] {
    return this.book.statuses
      .list(this.school)
      .map(([id, s]) => ({ id, ...s }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every school's statuses (each school has its own), by name then school: for the
   * category corrections, which are per school. */
  statusesOfEverySchool(): { tenant: string; id: number; name: string; category: StatusCategory }[] {
    return this.book.statuses
      .all()
      .map(({ tenant, id, value }) => ({ tenant, id, ...value }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.tenant.localeCompare(b.tenant));
  }

  studentList(): { studentPeriodId: number; name: string }[] {
    return this.book.students
      .list(this.school)
      .map(([studentPeriodId, name]) => ({ studentPeriodId, name }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  classList(): { id: number; name: string }[] {
    return this.book.classes
      .list(this.school)
      .map(([id, name]) => ({ id, name }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  courseList(): { id: number; name: string }[] {
    return this.book.courses
      .list(this.school)
      .map(([id, name]) => ({ id, name }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}
