import { describe, expect, it } from "vitest";
import {
  checkThresholdsForm,
  percentTextToShare,
  shareToPercentText,
  thresholdsSavedMessage,
  thresholdsToForm,
} from "../src/lib/reportSettings/thresholds";

describe("report thresholds", () => {
  it("shows shares as percentages without float noise", () => {
    expect(shareToPercentText(0.1)).toBe("10");
    expect(shareToPercentText(0.07)).toBe("7");
    expect(shareToPercentText(0.125)).toBe("12.5");
    expect(shareToPercentText(0.333)).toBe("33.3");
    expect(shareToPercentText(0)).toBe("0");
    expect(shareToPercentText(1)).toBe("100");
  });

  it("reads typed percentages as shares", () => {
    expect(percentTextToShare("10")).toBe(0.1);
    expect(percentTextToShare(" 10 % ")).toBe(0.1);
    expect(percentTextToShare("10%")).toBe(0.1);
    expect(percentTextToShare("12,5")).toBe(0.125);
    expect(percentTextToShare("33.3")).toBe(0.333);
    expect(percentTextToShare(".5")).toBe(0.005);
    expect(percentTextToShare("-5")).toBe(-0.05);
    expect(percentTextToShare("")).toBeNull();
    expect(percentTextToShare("ten")).toBeNull();
    expect(percentTextToShare("1e2")).toBeNull();
    expect(percentTextToShare("10 5")).toBeNull();
  });

  it("turns saved thresholds into the form and back unchanged", () => {
    for (const saved of [
      { chronicThreshold: 0.1, absencesPerDay: 2, termDays: 90 },
      { chronicThreshold: 0.07, absencesPerDay: 1, termDays: 366 },
      { chronicThreshold: 0.125, absencesPerDay: 5, termDays: 1 },
    ]) {
      expect(checkThresholdsForm(thresholdsToForm(saved))).toEqual({ ok: true, thresholds: saved });
    }
  });

  it("names each wrong field with what to enter", () => {
    const r = checkThresholdsForm({ percent: "150", absencesPerDay: "0", termDays: "400" });
    expect(r).toEqual({
      ok: false,
      problems: {
        percent: "Choose a percentage between 0 and 100.",
        absencesPerDay: "Enter a whole number of absences, 1 or more.",
        termDays: "Enter the term length as a whole number of days, from 1 to 366.",
      },
    });
    const only = checkThresholdsForm({ percent: "abc", absencesPerDay: "2", termDays: "90" });
    expect(only).toEqual({ ok: false, problems: { percent: "Enter the threshold as a percentage, such as 10." } });
    for (const [field, value] of [
      ["absencesPerDay", "2.5"],
      ["absencesPerDay", ""],
      ["termDays", "0"],
      ["termDays", "-3"],
      ["percent", "-1"],
    ] as const) {
      const form = { percent: "10", absencesPerDay: "2", termDays: "90", [field]: value };
      const check = checkThresholdsForm(form);
      expect(check.ok, `${field} = ${value}`).toBe(false);
      if (!check.ok) expect(Object.keys(check.problems)).toEqual([field]);
    }
    expect(checkThresholdsForm({ percent: "0", absencesPerDay: "1", termDays: "1" }).ok).toBe(true);
    expect(checkThresholdsForm({ percent: "100", absencesPerDay: "1", termDays: "366" }).ok).toBe(true);
  });

  it("confirms what was saved in a sentence", () => {
    expect(thresholdsSavedMessage({ chronicThreshold: 0.1, absencesPerDay: 2, termDays: 90 })).toBe(
      "Saved. Students who miss 10% of lessons or more count as chronically absent (alerts look at the last 90 days), " +
        "and 2 absences in one day raise an alert. Reports and alerts use this from now on.",
    );
    expect(thresholdsSavedMessage({ chronicThreshold: 0.125, absencesPerDay: 1, termDays: 1 })).toContain(
      "miss 12.5% of lessons or more count as chronically absent (alerts look at the last 1 day), and 1 absence in one day raises an alert.",
    );
  });

  it("keeps the days before judging chronic absence when the server has them", () => {
    const saved = { chronicThreshold: 0.1, absencesPerDay: 2, termDays: 90, chronicMinDays: 10 };
    const form = thresholdsToForm(saved);
    expect(form.minDays).toBe("10");
    expect(checkThresholdsForm(form)).toEqual({ ok: true, thresholds: saved });
    expect(checkThresholdsForm({ ...form, minDays: "0" })).toEqual({
      ok: false,
      problems: { minDays: "Enter the number of school days as a whole number, from 1 to 366." },
    });
    expect(checkThresholdsForm({ ...form, minDays: "ten" }).ok).toBe(false);
    expect(thresholdsSavedMessage(saved)).toContain("Before 10 school days with records, a student is shown as too early to tell.");
  });

  it("keeps the days in a row and the lesson cutoff when the server has them, within their limits", () => {
    const saved = { chronicThreshold: 0.1, absencesPerDay: 2, termDays: 90, chronicMinDays: 10, absentDaysInRow: 3, lessonCutoff: "09:30" };
    const form = thresholdsToForm(saved);
    expect([form.inRow, form.cutoff]).toEqual(["3", "09:30"]);
    expect(checkThresholdsForm(form)).toEqual({ ok: true, thresholds: saved });
    const early = checkThresholdsForm({ ...form, cutoff: "8:05" });
    expect(early.ok && early.thresholds.lessonCutoff).toBe("08:05");
    for (const cutoff of ["04:59", "20:01", "9h30", "25:00", "9:5"]) {
      expect(checkThresholdsForm({ ...form, cutoff })).toEqual({
        ok: false,
        problems: { cutoff: "Enter the cutoff as a time between 05:00 and 20:00, such as 09:30." },
      });
    }
    for (const inRow of ["1", "31", "three"]) {
      expect(checkThresholdsForm({ ...form, inRow }).ok).toBe(false);
    }
    expect(checkThresholdsForm({ ...form, inRow: "30", cutoff: "20:00" }).ok).toBe(true);
    const message = thresholdsSavedMessage(saved);
    expect(message).toContain("3 absent school days in a row raise an alert.");
    expect(message).toContain("After 09:30, lessons without attendance are shown as not taken.");
  });
});
