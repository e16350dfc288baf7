import { describe, expect, it } from "vitest";
import { openInBrowser } from "../src/lib/viewer/openBrowser";

describe("openInBrowser", () => {
  it("opens a new tab outside the desktop window, and says when a pop-up blocker stopped it", async () => {
    const opened: string[] = [];
    const tab = { open: (url: string) => (opened.push(url), {}) } as unknown as Window;
    expect(await openInBrowser("https://rollcall.district.example/api/sign-in/openid", tab)).toBe(true);
    expect(opened).toEqual(["https://rollcall.district.example/api/sign-in/openid"]);
    const blocked = { open: () => null } as unknown as Window;
    expect(await openInBrowser("https://rollcall.district.example/api/sign-in/openid", blocked)).toBe(false);
  });
});
