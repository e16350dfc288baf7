import { describe, expect, it } from "vitest";
import { attendanceDate, clockTime, exactTime, isoDate, relativeTime, shortAttendanceDate } from "../src/lib/time/format";

const now = Date.UTC(2025, 5, 19, 12, 0, 0); // Thu 19 Jun 2025, 12:00 UTC
const s = 1000;
const min = 60 * s;
const h = 60 * min;

describe("relativeTime", () => {
  it("reads recent times in seconds, minutes and hours", () => {
    expect(relativeTime(now - 3 * s, now, "UTC")).toBe("just now");
    expect(relativeTime(now - 42 * s, now, "UTC")).toBe("42 s ago");
    expect(relativeTime(now - 3 * min - 20 * s, now, "UTC")).toBe("3 min ago");
    expect(relativeTime(now - 5 * h, now, "UTC")).toBe("5 h ago");
  });

  it("does not say 'in 2 s' when a clock runs a little ahead", () => {
    expect(relativeTime(now + 2 * s, now, "UTC")).toBe("just now");
  });

  it("counts calendar days after a day, then shows the date", () => {
    expect(relativeTime(Date.UTC(2025, 5, 18, 8, 0), now, "UTC")).toBe("yesterday");
    expect(relativeTime(Date.UTC(2025, 5, 16, 23, 0), now, "UTC")).toBe("3 days ago");
    expect(relativeTime(Date.UTC(2025, 5, 1, 9, 0), now, "UTC")).toBe("1 Jun 2025");
  });

  it("uses the calendar of the given time zone", () => {
    // 23:30 UTC on the 18th is already the 19th in Athens (UTC+3 in June), so not 'yesterday'.
    const lateEvening = Date.UTC(2025, 5, 18, 23, 30);
    const morning = Date.UTC(2025, 5, 20, 0, 30);
    expect(relativeTime(lateEvening, morning, "UTC")).toBe("2 days ago");
    expect(relativeTime(lateEvening, morning, "Europe/Athens")).toBe("yesterday");
  });
});

describe("exact times", () => {
  it("formats the hover text, clock and dates", () => {
    const t = Date.UTC(2025, 5, 19, 10, 42, 5);
    expect(exactTime(t, "UTC")).toBe("Thu, 19 Jun 2025, 10:42:05");
    expect(clockTime(t, "UTC")).toBe("10:42");
    expect(isoDate(t, "UTC")).toBe("2025-06-19");
    expect(attendanceDate("2025-06-19")).toBe("Thu, 19 Jun 2025");
    expect(attendanceDate("not a date")).toBe("not a date");
  });
});

describe("shortAttendanceDate", () => {
  it("names today and yesterday, drops the year within this year", () => {
    expect(shortAttendanceDate("2025-06-19", "2025-06-19")).toBe("Today");
    expect(shortAttendanceDate("2025-06-18", "2025-06-19")).toBe("Yesterday");
    expect(shortAttendanceDate("2025-06-16", "2025-06-19")).toMatch(/^Mon 16 Jun$/);
    expect(shortAttendanceDate("2024-12-20", "2025-01-10")).toBe("20 Dec 2024");
    expect(shortAttendanceDate("2025-06-20", "2025-06-19")).toMatch(/^Fri 20 Jun$/);
  });
});
