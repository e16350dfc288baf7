import { describe, expect, it } from "vitest";
import type { ViewerState } from "../src/lib/api/generated";
import { copyAge, viewerBanner } from "../src/lib/viewer/viewerBanner";

const base: ViewerState = {
  server: "https://rollcall.district.org/",
  connection: "live",
  signedInAs: "secretary",
  lastContactAt: Date.UTC(2026, 11, 1, 9, 30),
  copiedUpTo: 42,
  message: "Showing https://rollcall.district.org/'s attendance live, as secretary.",
};
const fiveMinutesLater = Date.UTC(2026, 11, 1, 9, 35);

describe("the viewer's banner", () => {
  it("is absent when this Rollcall receives its own webhooks", () => {
    expect(viewerBanner(null, fiveMinutesLater)).toBeNull();
    expect(viewerBanner(undefined, fiveMinutesLater)).toBeNull();
  });

  it("says how old the copy is while the server cannot be reached", () => {
    const banner = viewerBanner({ ...base, connection: "offline", message: "Rollcall cannot reach it." }, fiveMinutesLater, "UTC");
    expect(banner).toEqual({
      tone: "warn",
      title: "The server cannot be reached: this is the copy from 09:30 (5 min ago).",
      text: "Rollcall cannot reach it.",
      signIn: false,
    });
  });

  it("asks for a sign-in, and says there is no copy yet when there is none", () => {
    const banner = viewerBanner({ ...base, connection: "signInNeeded", lastContactAt: null, signedInAs: null }, fiveMinutesLater);
    expect(banner?.signIn).toBe(true);
    expect(banner?.title).toBe("Not signed in to the server.");
  });

  it("is calm while live", () => {
    const banner = viewerBanner(base, fiveMinutesLater);
    expect(banner?.tone).toBe("info");
    expect(banner?.title).toBe("Connected to https://rollcall.district.org/");
  });

  it("gives no age for a copy never filled", () => {
    expect(copyAge(null, fiveMinutesLater)).toBeNull();
  });
});
