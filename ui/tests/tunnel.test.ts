import { describe, expect, it } from "vitest";
import type { TunnelSettings } from "../src/lib/api/types";
import { reachabilityDisplay, tunnelAlarm, tunnelDisplay, urlNoticeBanner, PROVIDER_CHOICES } from "../src/lib/tunnel/tunnelText";
import { savedSecret, tunnelBody, tunnelFormFrom, type TunnelForm } from "../src/lib/tunnel/tunnelForm";

const NOW = Date.UTC(2025, 5, 19, 10, 0, 0);

describe("tunnel state as the card shows it", () => {
  it("reads a missing state (older server) and off as no public address", () => {
    for (const s of [undefined, null, { state: "off" } as const]) {
      const d = tunnelDisplay(s);
      expect(d.tone).toBe("off");
      expect(d.title).toBe("No public address");
      expect(d.detail).toMatch(/cannot reach this computer/);
      expect(d.webhookUrl).toBeNull();
    }
  });

  it("says which provider is starting", () => {
    expect(tunnelDisplay({ state: "starting", provider: "cloudflare" })).toMatchObject({ tone: "busy", title: "Opening a public address (Cloudflare quick tunnel)…" });
  });

  it("gives the webhook URL and the provider's caveat when online", () => {
    const d = tunnelDisplay({
      state: "online",
      provider: "bore",
      publicUrl: "http://bore.pub:41234",
      webhookUrl: "http://bore.pub:41234/webhooks/dreamclass",
      notice: "bore does not encrypt traffic.",
    });
    expect(d).toEqual({ tone: "ok", title: "Public address ready (bore)", detail: "bore does not encrypt traffic.", webhookUrl: "http://bore.pub:41234/webhooks/dreamclass" });
    expect(tunnelDisplay({ state: "online", provider: "manual", publicUrl: "https://x.gr", webhookUrl: "https://x.gr/webhooks/dreamclass", notice: " " })).toMatchObject({
      title: "Public address set",
      detail: null,
    });
  });

  it("shows the attempt and the last error while reconnecting, and what to do after", () => {
    const d = tunnelDisplay({ state: "reconnecting", provider: "bore", attempt: 3, lastError: "The bore server bore.pub is not answering" });
    expect(d.tone).toBe("warn");
    expect(d.title).toBe("Public address lost: reconnecting (attempt 3)");
    expect(d.detail).toMatch(/^The bore server bore\.pub is not answering\. Rollcall keeps trying by itself\..*Check for missed changes/);
  });

  it("shows the reason when it failed", () => {
    const d = tunnelDisplay({ state: "failed", provider: "ngrok", reason: "ngrok refused the authtoken: copy it again from the ngrok dashboard." });
    expect(d).toMatchObject({ tone: "error", title: "The public address stopped (ngrok)", detail: "ngrok refused the authtoken: copy it again from the ngrok dashboard." });
  });
});

describe("reachability self-check", () => {
  it("is absent when there is no public URL", () => {
    expect(reachabilityDisplay(null, NOW)).toBeNull();
    expect(reachabilityDisplay(undefined, NOW)).toBeNull();
  });

  it("says when and how fast DreamClass could reach this computer", () => {
    const d = reachabilityDisplay({ status: "reachable", publicUrl: "https://x", roundTripMs: 184, checkedAtMs: NOW - 3 * 60_000, message: "ok" }, NOW);
    expect(d).toEqual({ tone: "ok", title: "DreamClass can reach this computer", detail: "Checked 3 min ago; the test took 184 ms there and back." });
    expect(reachabilityDisplay({ status: "reachable", publicUrl: "https://x", roundTripMs: 2340, checkedAtMs: NOW, message: "" }, NOW)!.detail).toMatch(/2\.3 s there and back/);
  });

  it("gives the failure sentence", () => {
    const d = reachabilityDisplay({ status: "unreachable", publicUrl: "https://x", kind: "timeout", reason: "Nothing came back within 10 seconds", checkedAtMs: NOW - 5000 }, NOW);
    expect(d).toEqual({ tone: "error", title: "DreamClass cannot reach this computer", detail: "Nothing came back within 10 seconds. (Checked just now.)" });
  });

  it("says nothing while waiting for the tunnel, and that it is checking", () => {
    expect(reachabilityDisplay({ status: "waitingForTunnel" }, NOW)).toBeNull();
    expect(reachabilityDisplay({ status: "checking", publicUrl: "https://x" }, NOW)!.tone).toBe("busy");
  });
});

describe("the “Update the URL in DreamClass” banner", () => {
  const url = "https://a.ngrok.app/webhooks/dreamclass";

  it("shows nothing without a notice or when the URL is unchanged", () => {
    expect(urlNoticeBanner(null)).toBeNull();
    expect(urlNoticeBanner(undefined)).toBeNull();
    expect(urlNoticeBanner({ kind: "unchanged" })).toBeNull();
  });

  it("asks to enter the first URL and says where, without repeating the URL in the sentence", () => {
    const b = urlNoticeBanner({ kind: "first", webhookUrl: url, message: `Enter this webhook URL in DreamClass (Settings > Integrations): ${url}` });
    expect(b).toMatchObject({ title: "Update the URL in DreamClass", webhookUrl: url, previousWebhookUrl: null });
    expect(b!.text).toMatch(/Settings → Integrations → Webhooks.*I have updated it/);
    expect(b!.text).not.toContain(url);
  });

  it("says the URL changed and shows the old one", () => {
    const b = urlNoticeBanner({ kind: "changed", previousWebhookUrl: "https://old.ngrok.app/webhooks/dreamclass", webhookUrl: url });
    expect(b!.previousWebhookUrl).toBe("https://old.ngrok.app/webhooks/dreamclass");
    expect(b!.text).toMatch(/has changed.*still sending to the old one/);
  });

  it("hides a URL the user has just acknowledged, but not a newer one", () => {
    expect(urlNoticeBanner({ kind: "first", webhookUrl: url }, url)).toBeNull();
    expect(urlNoticeBanner({ kind: "changed", previousWebhookUrl: url, webhookUrl: "https://b.ngrok.app/webhooks/dreamclass" }, url)).not.toBeNull();
  });
});

describe("header alarm for the public address", () => {
  it("speaks only when something needs attention", () => {
    expect(tunnelAlarm(undefined, undefined)).toBeNull();
    expect(tunnelAlarm({ state: "off" }, null)).toBeNull();
    expect(tunnelAlarm({ state: "starting", provider: "ngrok" }, null)).toBeNull();
    const online = { state: "online", provider: "ngrok", publicUrl: "https://a", webhookUrl: "https://a/webhooks/dreamclass" } as const;
    expect(tunnelAlarm(online, { status: "reachable", publicUrl: "https://a", roundTripMs: 1, checkedAtMs: 1, message: "" })).toBeNull();
    expect(tunnelAlarm(online, { status: "unreachable", publicUrl: "https://a", kind: "x", reason: "y", checkedAtMs: 1 })!.tone).toBe("error");
    expect(tunnelAlarm({ state: "reconnecting", provider: "bore", attempt: 1, lastError: "x" }, null)!.tone).toBe("warn");
    expect(tunnelAlarm({ state: "failed", provider: "bore", reason: "x" }, null)!.tone).toBe("error");
  });
});

describe("provider choices", () => {
  it("warn that bore is not encrypted, mark Cloudflare experimental, and explain ngrok's reserved domain", () => {
    const by = (v: string) => PROVIDER_CHOICES.find((p) => p.value === v)!;
    expect(by("bore").warning).toMatch(/Not encrypted/);
    expect(by("cloudflare").badge).toBe("experimental");
    expect(by("ngrok").summary).toMatch(/reserved domain.*stays the same/);
    expect(PROVIDER_CHOICES.map((p) => p.value).sort()).toEqual(["bore", "cloudflare", "manual", "ngrok", "none"]);
  });
});

describe("public address form", () => {
  const form = (over: Partial<TunnelForm>): TunnelForm => ({ ...tunnelFormFrom(null), ...over });

  it("starts from the saved settings, never with a secret", () => {
    const saved: TunnelSettings = { provider: "bore", server: "tunnel.school.gr", port: 7000, secretConfigured: true };
    expect(tunnelFormFrom(saved)).toMatchObject({ provider: "bore", boreServer: "tunnel.school.gr", borePort: "7000", boreSecret: "" });
    expect(tunnelFormFrom(null)).toMatchObject({ provider: "none", boreServer: "bore.pub" });
    expect(savedSecret(saved, "bore")).toBe(true);
    expect(savedSecret(saved, "ngrok")).toBe(false);
  });

  it("needs an ngrok authtoken unless one is saved, and keeps the saved one when left empty", () => {
    expect(tunnelBody(form({ provider: "ngrok" }), null)).toMatchObject({ ok: false, field: "ngrokAuthtoken" });
    expect(tunnelBody(form({ provider: "ngrok" }), { provider: "ngrok", authtokenConfigured: true })).toEqual({ ok: true, body: { provider: "ngrok" } });
    expect(tunnelBody(form({ provider: "ngrok", ngrokAuthtoken: " 2abc ", ngrokDomain: "https://My-School.ngrok.app/" }), null)).toEqual({
      ok: true,
      body: { provider: "ngrok", authtoken: "2abc", domain: "my-school.ngrok.app" },
    });
    expect(tunnelBody(form({ provider: "ngrok", ngrokAuthtoken: "x", ngrokDomain: "my school" }), null)).toMatchObject({ ok: false, field: "ngrokDomain" });
  });

  it("checks bore's server and port; an empty secret keeps the saved one", () => {
    expect(tunnelBody(form({ provider: "bore", boreServer: "" }), null)).toEqual({ ok: true, body: { provider: "bore", server: "bore.pub" } });
    expect(tunnelBody(form({ provider: "bore", boreServer: "https://bore.pub/" }), null)).toMatchObject({ ok: false, field: "boreServer" });
    expect(tunnelBody(form({ provider: "bore", borePort: "70000" }), null)).toMatchObject({ ok: false, field: "borePort" });
    expect(tunnelBody(form({ provider: "bore", borePort: "7835", boreSecret: "s3cret" }), null)).toEqual({
      ok: true,
      body: { provider: "bore", server: "bore.pub", port: 7835, secret: "s3cret" },
    });
  });

  it("takes a public manual address, its base when the full webhook URL is pasted, and refuses local ones", () => {
    expect(tunnelBody(form({ provider: "manual", publicUrl: "https://rollcall.school.gr/" }), null)).toEqual({ ok: true, body: { provider: "manual", publicUrl: "https://rollcall.school.gr" } });
    expect(tunnelBody(form({ provider: "manual", publicUrl: "https://rollcall.school.gr/webhooks/dreamclass" }), null)).toEqual({
      ok: true,
      body: { provider: "manual", publicUrl: "https://rollcall.school.gr" },
    });
    expect(tunnelBody(form({ provider: "manual", publicUrl: "http://192.168.1.20:8787" }), null)).toMatchObject({ ok: false, message: expect.stringMatching(/cannot reach it/) });
    expect(tunnelBody(form({ provider: "manual", publicUrl: "rollcall" }), null)).toMatchObject({ ok: false, field: "publicUrl" });
    expect(tunnelBody(form({ provider: "manual", publicUrl: "ftp://x.gr" }), null)).toMatchObject({ ok: false, field: "publicUrl" });
    expect(tunnelBody(form({ provider: "manual", publicUrl: "" }), null)).toMatchObject({ ok: false });
  });

  it("sends cloudflare's program path only when typed, and none as is", () => {
    expect(tunnelBody(form({ provider: "cloudflare" }), null)).toEqual({ ok: true, body: { provider: "cloudflare" } });
    expect(tunnelBody(form({ provider: "cloudflare", cloudflareBinary: " C:\\cloudflared.exe " }), null)).toEqual({ ok: true, body: { provider: "cloudflare", binary: "C:\\cloudflared.exe" } });
    expect(tunnelBody(form({ provider: "none", publicUrl: "junk" }), null)).toEqual({ ok: true, body: { provider: "none" } });
  });
});
