import { describe, expect, it } from "vitest";
import type { SignedInPerson } from "../src/lib/api/types";
import { mayAct, parseSchools, visibleViews } from "../src/lib/people/person";

const person = (role: SignedInPerson["role"]): SignedInPerson => ({
  username: "anna",
  displayName: "Anna",
  role,
  schools: ["north"],
});

describe("what a person is offered", () => {
  it("follows the role, and the office PC may do everything but has no People view", () => {
    expect(mayAct(null, "administrator")).toBe(true);
    expect(mayAct(person("staff"), "staff")).toBe(true);
    expect(mayAct(person("viewer"), "staff")).toBe(false);
    expect([...visibleViews(person("viewer"))].sort()).toEqual(["board", "feed", "reports"]);
    expect(visibleViews(person("administrator")).has("people")).toBe(true);
    expect(visibleViews(null).has("settings")).toBe(true);
    expect(visibleViews(null).has("people")).toBe(false);
  });

  it("reads the schools typed in a field, empty meaning every school", () => {
    expect(parseSchools(" north, south ,north\n")).toEqual(["north", "south"]);
    expect(parseSchools("  ")).toBeNull();
  });
});

describe("the page's side of sign-in", () => {
  it("sends the session's CSRF token with changes only", async () => {
    const { csrfHeader, useCsrfToken } = await import("../src/lib/api/signIn");
    useCsrfToken("t0ken");
    expect(csrfHeader("POST")).toEqual({ "X-Rollcall-Csrf": "t0ken" });
    expect(csrfHeader("GET")).toEqual({});
    useCsrfToken(null);
    expect(csrfHeader("PUT")).toEqual({});
  });

  it("shows the server's sentence for a refused role instead of the office PC's", async () => {
    const { messageForStatus } = await import("../src/lib/api/errors");
    const said = "You are signed in as a viewer, and only a staff member or above can export reports.";
    expect(messageForStatus(403, "role_required", said)).toBe(said);
    expect(messageForStatus(403, "forbidden_origin", "x")).not.toBe("x");
  });
});
