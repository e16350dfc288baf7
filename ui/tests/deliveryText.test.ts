import { describe, expect, it } from "vitest";
import { bodyTruncated, mergeDeliveries, prettyBody } from "../src/lib/deliveries/deliveryText";
import type { DeliveryRow } from "../src/lib/api/types";

function delivery(seq: number, over: Partial<DeliveryRow> = {}): DeliveryRow {
  return { seq, receivedAt: seq, requestId: `r${seq}`, eventType: "ATTENDANCE_CREATED", tenant: "my-school", outcome: "applied", status: 200, reason: null, body: "{}", bodyBytes: 2, recheckedAt: null, recheck: null, ...over };
}

describe("delivery inspector", () => {
  it("pretty-prints JSON bodies and leaves other text as it came", () => {
    expect(prettyBody('{"id":"a","data":{"id":52}}')).toBe('{\n  "id": "a",\n  "data": {\n    "id": 52\n  }\n}');
    expect(prettyBody("not json {")).toBe("not json {");
    expect(prettyBody(null)).toBe("");
  });

  it("notices a body kept shorter than it arrived", () => {
    expect(bodyTruncated({ body: "{}", bodyBytes: 2 })).toBe(false);
    expect(bodyTruncated({ body: "{", bodyBytes: 5000 })).toBe(true);
    expect(bodyTruncated({ body: "é", bodyBytes: 2 })).toBe(false);
  });

  it("merges a refreshed first page without repeating rows", () => {
    const merged = mergeDeliveries([delivery(3), delivery(2)], [delivery(5), delivery(4), delivery(3)]);
    expect(merged.map((d) => d.seq)).toEqual([5, 4, 3, 2]);
  });
});
