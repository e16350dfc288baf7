import { describe, expect, it } from "vitest";
import type { DigestSettingsView } from "../src/lib/api/types";
import { checkDigestForm, digestStatusText, digestToForm, parseRecipients, usualPort } from "../src/lib/digest/digestForm";

const saved: DigestSettingsView = {
  enabled: true,
  recipients: ["office@school.example.org", "head@school.example.org"],
  sendAt: "16:00",
  defaultSendAt: "16:00",
  schoolName: "Hill School",
  smtpHost: "smtp.school.example.org",
  smtpPort: null,
  tls: "starttls",
  username: "office",
  hasPassword: true,
  from: "rollcall@school.example.org",
  caFile: null,
  status: { lastSentDay: "2026-11-02", lastSentAt: null, failure: null, failedAt: null, nextTryAt: null, gaveUp: false },
};

describe("the digest form", () => {
  it("round-trips the saved settings and keeps the password unless one is typed", () => {
    const form = digestToForm(saved);
    expect(form.recipients).toBe("office@school.example.org\nhead@school.example.org");
    expect(form.password).toBe("");
    const check = checkDigestForm(form);
    expect(check).toEqual({
      ok: true,
      body: {
        enabled: true,
        recipients: ["office@school.example.org", "head@school.example.org"],
        sendAt: "16:00",
        schoolName: "Hill School",
        smtpHost: "smtp.school.example.org",
        tls: "starttls",
        username: "office",
        from: "rollcall@school.example.org",
      },
    });
    const typed = checkDigestForm({ ...form, password: "new", smtpPort: "2525", caFile: " /etc/ca.pem " });
    expect(typed.ok && typed.body).toMatchObject({ password: "new", smtpPort: 2525, caFile: "/etc/ca.pem" });
  });

  it("reads addresses one per line, or separated by commas", () => {
    expect(parseRecipients(" a@x.org, b@y.org;\n\nc@z.org ")).toEqual(["a@x.org", "b@y.org", "c@z.org"]);
  });

  it("names the wrong field with a sentence", () => {
    const form = digestToForm(saved);
    const problems = (f: Partial<typeof form>, forTest = false) => {
      const check = checkDigestForm({ ...form, ...f }, forTest);
      return check.ok ? {} : check.problems;
    };
    expect(problems({ recipients: "office" }).recipients).toContain('"office" is not an e-mail address');
    expect(problems({ recipients: "" }).recipients).toBe("Add at least one address to send the digest to.");
    expect(problems({ recipients: "", enabled: false })).toEqual({});
    expect(problems({ recipients: "", enabled: false }, true).recipients).toBeDefined();
    expect(problems({ sendAt: "4pm" }).sendAt).toContain("24-hour clock");
    expect(problems({ smtpPort: "70000" }).smtpPort).toContain("between 1 and 65535");
    expect(problems({ tls: "none" }).tls).toContain("only to a mail server on this computer");
    expect(problems({ tls: "none", smtpHost: "localhost" })).toEqual({});
    expect(problems({ from: "me@" }).from).toContain("e-mail address");
    expect(usualPort("implicit")).toBe(465);
  });

  it("says what was sent and what failed", () => {
    expect(digestStatusText(saved)).toEqual({ tone: "ok", text: "Sent every day with attendance at 16:00. Last sent for 2026-11-02." });
    expect(digestStatusText({ ...saved, enabled: false }).text).toBe("The daily digest is off.");
    const failed = digestStatusText({
      ...saved,
      status: { ...saved.status, failure: "The mail server smtp.school.example.org refused the username or password.", gaveUp: true },
    });
    expect(failed.tone).toBe("error");
    expect(failed.text).toContain("refused the username or password. It is not tried again today");
  });
});
