import { describe, expect, it } from "vitest";
import { parseRetentionDays, retentionSavedMessage } from "../src/lib/care/retention";

describe("retention", () => {
  it("takes whole days and explains anything else", () => {
    expect(parseRetentionDays(" 90 ")).toEqual({ days: 90 });
    expect(parseRetentionDays("0")).toEqual({ days: 0 });
    expect(parseRetentionDays("ninety")).toHaveProperty("problem");
    expect(parseRetentionDays("-5")).toHaveProperty("problem");
    expect(parseRetentionDays("1.5")).toHaveProperty("problem");
    expect(parseRetentionDays("40000")).toHaveProperty("problem");
  });

  it("says what saving did", () => {
    expect(retentionSavedMessage(0, 0)).toBe("Saved. Raw deliveries are kept forever.");
    expect(retentionSavedMessage(30, 1)).toBe(
      "Saved. Raw deliveries are kept for 30 days. 1 older delivery was deleted; attendance and its history are kept.",
    );
    expect(retentionSavedMessage(1, 2)).toContain("kept for 1 day. 2 older deliveries were deleted");
  });
});
