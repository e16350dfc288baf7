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
