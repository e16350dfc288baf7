import { describe, expect, it } from "vitest";
import { isPrivateAddress, webhookAddress, withWebhookPath } from "../src/lib/setup/webhookAddress";

const local = "http://127.0.0.1:8787/webhooks/dreamclass";

describe("webhook address for DreamClass", () => {
  it("uses the tunnel's webhook address while the tunnel is online", () => {
    const online = { state: "online", provider: "bore", publicUrl: "http://bore.pub:41234", webhookUrl: "http://bore.pub:41234/webhooks/dreamclass" } as const;
    expect(webhookAddress({ webhookUrl: local, tunnel: online })).toEqual({ url: online.webhookUrl, isPublic: true, reachableFromInternet: true });
  });

  it("falls back to the local address, marked unreachable, when the tunnel is not online", () => {
    for (const tunnel of [
      undefined,
      null,
      { state: "off" } as const,
      { state: "starting", provider: "ngrok" } as const,
      { state: "reconnecting", provider: "bore", attempt: 2, lastError: "refused" } as const,
      { state: "failed", provider: "bore", reason: "x" } as const,
    ]) {
      expect(webhookAddress({ webhookUrl: local, tunnel }), JSON.stringify(tunnel)).toEqual({ url: local, isPublic: false, reachableFromInternet: false });
    }
  });

  it("builds the webhook address from the public base when the tunnel gives no webhook address", () => {
    const online = { state: "online", provider: "manual", publicUrl: "https://myschool.ngrok.app", webhookUrl: "" } as const;
    expect(webhookAddress({ webhookUrl: local, tunnel: online }).url).toBe("https://myschool.ngrok.app/webhooks/dreamclass");
    expect(withWebhookPath("https://proxy.school.gr/hooks/in", local)).toBe("https://proxy.school.gr/hooks/in");
  });

  it("a listener on a public address is reachable even without a tunnel", () => {
    expect(webhookAddress({ webhookUrl: "https://rollcall.school.gr/webhooks/dreamclass" }).reachableFromInternet).toBe(true);
  });

  it("knows private and local addresses", () => {
    for (const u of ["http://localhost:1/", "http://10.1.2.3/", "http://192.168.1.10:8787/", "http://172.20.0.1/", "http://[::1]:8787/", "http://office-pc.local/", "not a url"]) {
      expect(isPrivateAddress(u), u).toBe(true);
    }
    for (const u of ["https://rollcall.school.gr/hook", "http://172.32.0.1/", "http://8.8.8.8/"]) {
      expect(isPrivateAddress(u), u).toBe(false);
    }
  });
});
