import { describe, expect, it } from "vitest";
import { parseRoute, routeHash, type Route } from "../src/lib/routing/routes";

describe("routes", () => {
  it("opens the feed by default", () => {
    expect(parseRoute("")).toEqual({ view: "feed", filter: {}, student: "" });
    expect(parseRoute("#/nonsense")).toEqual({ view: "feed", filter: {}, student: "" });
  });

  it("round-trips every view", () => {
    const routes: Route[] = [
      { view: "feed", filter: { classId: 34, date: "2025-06-19", statusId: 6 }, student: "Zoë" },
      { view: "board", date: "2025-06-19" },
      { view: "board", date: null },
      { view: "record", tenant: "my school/1", attendanceId: 52 },
      { view: "deliveries", outcome: "rejected" },
      { view: "deliveries", outcome: null },
      { view: "setup" },
    ];
    for (const r of routes) expect(parseRoute(routeHash(r))).toEqual(r);
  });

  it("links the board to a filtered feed", () => {
    expect(routeHash({ view: "feed", filter: { classId: 34, date: "2025-06-19" }, student: "" })).toBe(
      "#/feed?date=2025-06-19&classId=34",
    );
  });

  it("ignores an unknown outcome and a broken record link", () => {
    expect(parseRoute("#/deliveries?outcome=bogus")).toEqual({ view: "deliveries", outcome: null });
    expect(parseRoute("#/record/my-school/abc").view).toBe("feed");
  });
});
