// The public-address form: what the user types, checked here with sentences that say what
// to fix, and turned into the body of PUT /api/settings/tunnel. Secrets left empty keep the
// saved ones, so they never need to be shown back.

import type { TunnelProvider, TunnelSettings, TunnelSettingsBody } from "../api/types";
import { isPrivateAddress } from "../setup/webhookAddress";

export type TunnelForm = {
  provider: TunnelProvider;
  publicUrl: string;
  boreServer: string;
  borePort: string;
  boreSecret: string;
  ngrokAuthtoken: string;
  ngrokDomain: string;
  cloudflareBinary: string;
};

export const DEFAULT_BORE_SERVER = "bore.pub";

export function tunnelFormFrom(settings: TunnelSettings | null): TunnelForm {
  return {
    provider: settings?.provider ?? "none",
    publicUrl: settings?.publicUrl ?? "",
    boreServer: settings?.server ?? DEFAULT_BORE_SERVER,
    borePort: settings?.port != null ? String(settings.port) : "",
    boreSecret: "",
    ngrokAuthtoken: "",
    ngrokDomain: settings?.domain ?? "",
    cloudflareBinary: settings?.binary ?? "",
  };
}

export type TunnelFormResult =
  | { ok: true; body: TunnelSettingsBody }
  | { ok: false; field: keyof TunnelForm; message: string };

const WEBHOOK_PATH = "/webhooks/dreamclass";

export function tunnelBody(form: TunnelForm, saved: TunnelSettings | null): TunnelFormResult {
  switch (form.provider) {
    case "none":
      return { ok: true, body: { provider: "none" } };
    case "manual": {
      let url = form.publicUrl.trim();
      if (url === "") return { ok: false, field: "publicUrl", message: "Type the public address, for example https://rollcall.my-school.gr." };
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return { ok: false, field: "publicUrl", message: "This is not a web address. It should look like https://rollcall.my-school.gr." };
      }
      if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
        return { ok: false, field: "publicUrl", message: "The address must start with https:// (or http://)." };
      }
      if (isPrivateAddress(url)) {
        return {
          ok: false,
          field: "publicUrl",
          message: "This address only works inside this computer or the school's network; DreamClass sends from the internet and cannot reach it.",
        };
      }
      // Someone pasting the full webhook URL means its base.
      if (parsed.pathname.replace(/\/+$/, "").endsWith(WEBHOOK_PATH)) {
        url = url.replace(/\/+$/, "");
        url = url.slice(0, url.length - WEBHOOK_PATH.length);
      }
      return { ok: true, body: { provider: "manual", publicUrl: url.replace(/\/+$/, "") } };
    }
    case "bore": {
      const server = form.boreServer.trim() || DEFAULT_BORE_SERVER;
      if (/[\s/]/.test(server)) {
        return { ok: false, field: "boreServer", message: "Type only the bore server's name, for example bore.pub (no https:// and no slashes)." };
      }
      const body: TunnelSettingsBody = { provider: "bore", server };
      const port = form.borePort.trim();
      if (port !== "") {
        const n = Number(port);
        if (!/^\d+$/.test(port) || n < 1 || n > 65535) {
          return { ok: false, field: "borePort", message: "The port is a whole number between 1 and 65535, or leave it empty to get any free port." };
        }
        body.port = n;
      }
      if (form.boreSecret !== "") body.secret = form.boreSecret;
      return { ok: true, body };
    }
    case "ngrok": {
      const token = form.ngrokAuthtoken.trim();
      if (token === "" && saved?.authtokenConfigured !== true) {
        return { ok: false, field: "ngrokAuthtoken", message: "Paste your ngrok authtoken (ngrok dashboard → Your Authtoken)." };
      }
      const body: TunnelSettingsBody = { provider: "ngrok" };
      if (token !== "") body.authtoken = token;
      const domain = form.ngrokDomain
        .trim()
        .replace(/^https?:\/\//i, "")
        .replace(/\/.*$/, "");
      if (domain !== "") {
        if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(domain)) {
          return { ok: false, field: "ngrokDomain", message: "The reserved domain looks like my-school.ngrok.app. Copy it from ngrok's Domains page." };
        }
        body.domain = domain.toLowerCase();
      }
      return { ok: true, body };
    }
    case "cloudflare": {
      const binary = form.cloudflareBinary.trim();
      return { ok: true, body: binary === "" ? { provider: "cloudflare" } : { provider: "cloudflare", binary } };
    }
  }
}

/** Whether a secret of this provider is saved ("saved" shown next to the empty box). */
export function savedSecret(settings: TunnelSettings | null, provider: TunnelProvider): boolean {
  if (!settings || settings.provider !== provider) return false;
  if (provider === "ngrok") return settings.authtokenConfigured === true;
  if (provider === "bore") return settings.secretConfigured === true;
  return false;
}
