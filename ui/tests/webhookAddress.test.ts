import { describe, expect, it } from "vitest";
import { isPrivateAddress, webhookAddress } from "../src/lib/setup/webhookAddress";

describe("webhook address for DreamClass", () => {
  it("prefers the public tunnel address when there is one", () => {
    expect(webhookAddress({ webhookUrl: "http://127.0.0.1:8787/webhooks/dreamclass", publicUrl: "https://abc.example.net/webhooks/dreamclass" })).toEqual({
      url: "https://abc.example.net/webhooks/dreamclass",
      reachableFromInternet: true,
      isPublicTunnel: true,
    });
  });

  it("adds the webhook path to a bare public base address", () => {
    expect(webhookAddress({ webhookUrl: "http://127.0.0.1:8787/webhooks/dreamclass", publicUrl: "https://myschool.ngrok.app" }).url).toBe(
      "https://myschool.ngrok.app/webhooks/dreamclass",
    );
  });

  it("uses the tunnel's webhook address while the tunnel is online, and not otherwise", () => {
    const base = { webhookUrl: "http://127.0.0.1:8787/webhooks/dreamclass" };
    const online = { state: "online", provider: "bore", publicUrl: "http://bore.pub:41234", webhookUrl: "http://bore.pub:41234/webhooks/dreamclass" } as const;
    expect(webhookAddress({ ...base, tunnel: online })).toEqual({ url: online.webhookUrl, reachableFromInternet: true, isPublicTunnel: true });
    expect(webhookAddress({ ...base, tunnel: { state: "failed", provider: "bore", reason: "x" } }).url).toBe(base.webhookUrl);
  });

  it("warns that a local address cannot be reached by DreamClass", () => {
    expect(webhookAddress({ webhookUrl: "http://127.0.0.1:8787/webhooks/dreamclass" }).reachableFromInternet).toBe(false);
  });

  it("knows private and local addresses", () => {
    for (const u of ["http://localhost:1/", "http://10.1.2.3/", "http://192.168.1.10:8787/", "http://172.20.0.1/", "http://[::1]:8787/", "http://office-pc.local/"]) {
      expect(isPrivateAddress(u), u).toBe(true);
    }
    for (const u of ["https://rollcall.school.gr/hook", "http://172.32.0.1/", "http://8.8.8.8/"]) {
      expect(isPrivateAddress(u), u).toBe(false);
    }
  });
});
