import { describe, expect, it } from "vitest";
import type { DreamClassState, RecoveryReport } from "../src/lib/api/types";
import {
  authPrefix,
  checkRange,
  dreamClassBody,
  dreamClassFormFrom,
  dreamClassStatusLine,
  recoverySummary,
  schoolDomain,
  DEFAULT_API_ADDRESS,
  type DreamClassForm,
} from "../src/lib/dreamclass/connectionForm";
import { categoryBody, CATEGORY_CHOICES } from "../src/lib/names/statusCategories";

const NOW = Date.UTC(2025, 5, 19, 10, 0, 0);
const filled = (over: Partial<DreamClassForm> = {}): DreamClassForm => ({ ...dreamClassFormFrom(null), token: "tok", tenant: "my-school", ...over });

describe("DreamClass connection form", () => {
  it("starts from the saved settings with an empty token box, and from defaults when none", () => {
    expect(dreamClassFormFrom(null)).toEqual({
      baseUrl: DEFAULT_API_ADDRESS,
      token: "",
      tenant: "",
      authHeader: "Authorization",
      authPrefix: "Bearer ",
      tenantHeader: "tenant",
      schoolPeriodId: "",
    });
    const f = dreamClassFormFrom({
      baseUrl: "http://127.0.0.1:9000/api",
      tenant: "demo-school",
      authHeader: "X-Api-Key",
      authPrefix: "",
      tenantHeader: "X-Tenant",
      schoolPeriodId: 12,
      tokenConfigured: true,
    });
    expect(f).toMatchObject({ baseUrl: "http://127.0.0.1:9000/api", token: "", authPrefix: "", schoolPeriodId: "12" });
  });

  it("maps a filled form to the request body", () => {
    expect(dreamClassBody(filled({ baseUrl: " https://api.dreamclass.io/dreamclassapi/v1/ ", token: " abc ", schoolPeriodId: "7" }), false)).toEqual({
      ok: true,
      body: {
        baseUrl: "https://api.dreamclass.io/dreamclassapi/v1",
        token: "abc",
        tenant: "my-school",
        authHeader: "Authorization",
        authPrefix: "Bearer ",
        tenantHeader: "tenant",
        schoolPeriodId: 7,
      },
    });
  });

  it("leaves the token out when the box is empty and one is saved, and asks for it otherwise", () => {
    const r = dreamClassBody(filled({ token: "" }), true);
    expect(r.ok && "token" in r.body).toBe(false);
    expect(dreamClassBody(filled({ token: "" }), false)).toMatchObject({ ok: false, field: "token" });
  });

  it("says what to fix in the address, the school domain and the period", () => {
    expect(dreamClassBody(filled({ baseUrl: "api.dreamclass.io" }), true)).toMatchObject({ ok: false, field: "baseUrl", message: expect.stringMatching(/https:\/\//) });
    expect(dreamClassBody(filled({ tenant: "  " }), true)).toMatchObject({ ok: false, field: "tenant" });
    expect(dreamClassBody(filled({ tenant: "my school" }), true)).toMatchObject({ ok: false, field: "tenant" });
    expect(dreamClassBody(filled({ schoolPeriodId: "2024-25" }), true)).toMatchObject({ ok: false, field: "schoolPeriodId" });
    expect(dreamClassBody(filled({ authHeader: "X Api Key" }), true)).toMatchObject({ ok: false, field: "authHeader" });
  });

  it("reads the school domain out of what people paste", () => {
    expect(schoolDomain("My-School")).toBe("my-school");
    expect(schoolDomain("https://my-school.dreamclass.io/dashboard")).toBe("my-school");
    expect(schoolDomain(" my-school.dreamclass.io ")).toBe("my-school");
  });

  it("keeps a word prefix apart from the token", () => {
    expect(authPrefix("Bearer")).toBe("Bearer ");
    expect(authPrefix("Bearer ")).toBe("Bearer ");
    expect(authPrefix("")).toBe("");
    expect(authPrefix("  ")).toBe("");
    expect(authPrefix("Token=")).toBe("Token=");
  });
});

describe("DreamClass status line", () => {
  const base: DreamClassState = { configured: true, lastSuccessAt: null, lastAttemptAt: null, error: null, errorCode: null, lastRecovery: null, pendingGaps: 0 };

  it("explains what is missing when not connected", () => {
    expect(dreamClassStatusLine({ ...base, configured: false }, NOW)).toMatchObject({ tone: "off", text: expect.stringMatching(/^Not connected.*numbers/) });
    expect(dreamClassStatusLine(null, NOW)).toBeNull();
  });

  it("says when names were last read", () => {
    expect(dreamClassStatusLine({ ...base, lastSuccessAt: NOW - 2 * 60_000 }, NOW)).toEqual({ tone: "ok", text: "Connected. Names last read from DreamClass 2 min ago.", extra: [] });
    expect(dreamClassStatusLine(base, NOW)!.tone).toBe("busy");
  });

  it("gives the error sentence and when it last worked", () => {
    const line = dreamClassStatusLine({ ...base, error: "The API token was refused (401): create a new one in DreamClass.", lastSuccessAt: NOW - 3 * 3_600_000 }, NOW)!;
    expect(line.tone).toBe("error");
    expect(line.text).toBe("The API token was refused (401): create a new one in DreamClass. It last worked 3 h ago.");
  });

  it("points to the check when gaps wait to be fetched", () => {
    expect(dreamClassStatusLine({ ...base, pendingGaps: 1 }, NOW)!.extra[0]).toMatch(/not listening once.*Check for missed changes/);
    expect(dreamClassStatusLine({ ...base, pendingGaps: 3 }, NOW)!.extra[0]).toMatch(/not listening 3 times/);
  });
});

describe("Check for missed changes", () => {
  it("sends both days or neither, in order", () => {
    expect(checkRange(false, "", "")).toEqual({ ok: true, range: undefined });
    expect(checkRange(true, "2025-06-01", "2025-06-05")).toEqual({ ok: true, range: { from: "2025-06-01", to: "2025-06-05" } });
    expect(checkRange(true, "2025-06-01", "")).toMatchObject({ ok: false });
    expect(checkRange(true, "2025-06-05", "2025-06-01")).toEqual({ ok: false, message: "The first day must not be after the last." });
  });

  it("shows the report's sentence, its errors and notes, in the right tone", () => {
    const report: RecoveryReport = {
      datesChecked: ["2025-06-18", "2025-06-19"],
      recordsSeen: 40,
      recovered: 3,
      created: 2,
      updated: 1,
      deleted: 0,
      unchanged: 37,
      keptNewer: 0,
      decidedByContent: 0,
      checkAgain: false,
      errors: [],
      notes: ["Only the last 14 days were checked."],
      message: "3 missed changes recovered on 2 days.",
    };
    expect(recoverySummary(report)).toEqual({ tone: "ok", message: report.message, errors: [], notes: report.notes });
    expect(recoverySummary({ ...report, errors: ["DreamClass did not answer for 19 Jun."] }).tone).toBe("warn");
    expect(recoverySummary({ ...report, recordsSeen: 0, recovered: 0, errors: ["The API token was refused."] }).tone).toBe("error");
  });
});

describe("status categories", () => {
  it("offers the five categories and automatic, which sends null", () => {
    expect(CATEGORY_CHOICES.map((c) => c.value)).toEqual(["present", "absent", "late", "excused", "other", "automatic"]);
    expect(categoryBody("automatic")).toEqual({ category: null });
    expect(categoryBody("late")).toEqual({ category: "late" });
  });
});
