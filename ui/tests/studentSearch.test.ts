import { describe, expect, it } from "vitest";
import { resolveStudentSearch, studentSearchAccepts, withStudentSearch } from "../src/lib/feed/studentSearch";

const students = [
  { studentPeriodId: 4, name: "Zoë Papadopoulou" },
  { studentPeriodId: 7, name: "Nikos Papas" },
  { studentPeriodId: 9, name: "Maria Georgiou" },
];

describe("student search", () => {
  it("is off when empty", () => {
    expect(resolveStudentSearch("  ", students)).toEqual({ kind: "none" });
  });

  it("reads a number or #number as the id, which is what rows show without names", () => {
    expect(resolveStudentSearch("#4", [])).toEqual({ kind: "one", studentPeriodId: 4 });
    expect(resolveStudentSearch("12", [])).toEqual({ kind: "one", studentPeriodId: 12 });
    expect(resolveStudentSearch("Student #12", [])).toEqual({ kind: "one", studentPeriodId: 12 });
  });

  it("finds one student by part of the name, ignoring case and accents", () => {
    expect(resolveStudentSearch("zoe", students)).toEqual({ kind: "one", studentPeriodId: 4 });
  });

  it("becomes a server filter when one student matches", () => {
    expect(withStudentSearch({ classId: 34 }, resolveStudentSearch("maria", students))).toEqual({ classId: 34, studentPeriodId: 9 });
  });

  it("filters locally when several students match", () => {
    const s = resolveStudentSearch("papa", students);
    expect(s.kind).toBe("many");
    expect(withStudentSearch({}, s)).toEqual({});
    expect(studentSearchAccepts(s, 4)).toBe(true);
    expect(studentSearchAccepts(s, 7)).toBe(true);
    expect(studentSearchAccepts(s, 9)).toBe(false);
  });

  it("prefers an exact name over longer names that contain it", () => {
    const list = [...students, { studentPeriodId: 11, name: "Nikos Papas Jr" }];
    expect(resolveStudentSearch("nikos papas", list)).toEqual({ kind: "one", studentPeriodId: 7 });
  });

  it("accepts nothing when no student matches", () => {
    const s = resolveStudentSearch("Smith", students);
    expect(s).toEqual({ kind: "no-match", query: "Smith" });
    expect(studentSearchAccepts(s, 4)).toBe(false);
  });
});
