import { describe, expect, it } from "vitest";
import { nearEnd, scrollToReveal, visibleRange } from "../src/lib/feed/virtualWindow";

describe("virtual window", () => {
  it("renders only the rows in view plus a margin, even for 100,000 rows", () => {
    expect(visibleRange(0, 560, 56, 100_000, 5)).toEqual({ start: 0, end: 16 });
    const deep = visibleRange(56 * 50_000 + 20, 560, 56, 100_000, 5);
    expect(deep).toEqual({ start: 49_995, end: 50_016 });
  });

  it("stays within the list at its ends", () => {
    expect(visibleRange(56 * 99_990, 560, 56, 100_000, 5)).toEqual({ start: 99_985, end: 100_000 });
    expect(visibleRange(0, 560, 56, 0)).toEqual({ start: 0, end: 0 });
    expect(visibleRange(9_999_999, 560, 56, 3, 2)).toEqual({ start: 0, end: 3 });
  });

  it("scrolls just enough to reveal the selected row", () => {
    expect(scrollToReveal(5, 0, 560, 56)).toBeNull();
    expect(scrollToReveal(10, 0, 560, 56)).toBe(56 * 11 - 560);
    expect(scrollToReveal(2, 56 * 4, 560, 56)).toBe(112);
  });

  it("asks for older rows near the bottom", () => {
    expect(nearEnd(0, 560, 56, 1000)).toBe(false);
    expect(nearEnd(56 * 975, 560, 56, 1000)).toBe(true);
  });
});
