// What the window says about the public address (the tunnel), its self-check, and a webhook
// URL that DreamClass must be given. Every sentence says what is happening and, when
// something is wrong, what to do; the server's own sentences (reasons, notices) are kept.

import type { Reachability, TunnelProvider, TunnelState, UrlNotice } from "../api/types";
import { relativeTime } from "../time/format";

export type Tone = "off" | "busy" | "ok" | "warn" | "error";

const PROVIDER_NAMES: Record<string, string> = {
  ngrok: "ngrok",
  bore: "bore",
  cloudflare: "Cloudflare quick tunnel",
  manual: "your own address",
};

export function providerName(provider: string): string {
  return PROVIDER_NAMES[provider] ?? provider;
}

export type TunnelDisplay = {
  tone: Tone;
  title: string;
  /** A second sentence: the provider's caveat, the last error, or what to do. */
  detail: string | null;
  /** What to paste into DreamClass, while online. */
  webhookUrl: string | null;
};

/** The tunnel's state as a card: absent (an older server) reads as off. */
export function tunnelDisplay(state: TunnelState | null | undefined): TunnelDisplay {
  if (!state || state.state === "off") {
    return {
      tone: "off",
      title: "No public address",
      detail: "DreamClass cannot reach this computer from the internet. Choose how Rollcall gets a public address under “Public address”.",
      webhookUrl: null,
    };
  }
  const name = providerName(state.provider);
  switch (state.state) {
    case "starting":
      return { tone: "busy", title: `Opening a public address (${name})…`, detail: null, webhookUrl: null };
    case "online":
      return {
        tone: "ok",
        title: state.provider === "manual" ? "Public address set" : `Public address ready (${name})`,
        detail: state.notice?.trim() ? state.notice : null,
        webhookUrl: state.webhookUrl,
      };
    case "reconnecting":
      return {
        tone: "warn",
        title: `Public address lost: reconnecting (attempt ${state.attempt})`,
        detail: `${withFullStop(state.lastError)} Rollcall keeps trying by itself. Once it is back, use “Check for missed changes” to fetch anything DreamClass sent meanwhile.`,
        webhookUrl: null,
      };
    case "failed":
      return { tone: "error", title: `The public address stopped (${name})`, detail: withFullStop(state.reason), webhookUrl: null };
  }
}

function withFullStop(s: string): string {
  const t = s.trim();
  if (t === "") return t;
  return /[.!?…)]$/.test(t) ? t : `${t}.`;
}

export type ReachabilityDisplay = { tone: Tone; title: string; detail: string | null };

/** The self-check: whether a probe sent through the public address came back. Nothing while
 * the tunnel is not up: the tunnel's own line says so already. */
export function reachabilityDisplay(r: Reachability | null | undefined, nowMs: number): ReachabilityDisplay | null {
  if (!r) return null;
  switch (r.status) {
    case "waitingForTunnel":
      return null;
    case "checking":
      return { tone: "busy", title: "Checking that DreamClass can reach this computer…", detail: null };
    case "reachable":
      return {
        tone: "ok",
        title: "DreamClass can reach this computer",
        detail: `Checked ${relativeTime(r.checkedAtMs, nowMs)}; the test took ${formatMs(r.roundTripMs)} there and back.`,
      };
    case "unreachable":
      return {
        tone: "error",
        title: "DreamClass cannot reach this computer",
        detail: `${withFullStop(r.reason)} (Checked ${relativeTime(r.checkedAtMs, nowMs)}.)`,
      };
  }
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export type UrlNoticeBanner = {
  title: string;
  text: string;
  webhookUrl: string;
  previousWebhookUrl: string | null;
};

/** The "Update the URL in DreamClass" banner, or null when there is nothing to do. A URL the
 * user has just acknowledged stays hidden until the server's next status agrees. The
 * server's `message` (written for the tray, with the URL inside) is not repeated: the banner
 * shows the URL in its own box and says where to paste it. */
export function urlNoticeBanner(notice: UrlNotice | null | undefined, acknowledgedUrl: string | null = null): UrlNoticeBanner | null {
  if (!notice || notice.kind === "unchanged") return null;
  if (!notice.webhookUrl || notice.webhookUrl === acknowledgedUrl) return null;
  const where = "In DreamClass, open Settings → Integrations → Webhooks, paste it into URL and save; then click “I have updated it”.";
  if (notice.kind === "first") {
    return {
      title: "Update the URL in DreamClass",
      text: `Rollcall has a public address now, and DreamClass needs it to send attendance here. ${where}`,
      webhookUrl: notice.webhookUrl,
      previousWebhookUrl: null,
    };
  }
  return {
    title: "Update the URL in DreamClass",
    text: `Rollcall's public address has changed, so DreamClass is still sending to the old one and nothing arrives. ${where}`,
    webhookUrl: notice.webhookUrl,
    previousWebhookUrl: notice.previousWebhookUrl || null,
  };
}

/** A short label for the header, only when the public address needs attention. */
export function tunnelAlarm(state: TunnelState | null | undefined, reachability: Reachability | null | undefined): { tone: Tone; label: string } | null {
  if (state?.state === "failed") return { tone: "error", label: "Public address stopped" };
  if (state?.state === "reconnecting") return { tone: "warn", label: "Public address reconnecting…" };
  if (state?.state === "online" && reachability?.status === "unreachable") return { tone: "error", label: "DreamClass can't reach Rollcall" };
  return null;
}

export type ProviderChoice = {
  value: TunnelProvider;
  label: string;
  summary: string;
  /** Shown prominently when chosen. */
  warning?: string;
  badge?: string;
};

export const PROVIDER_CHOICES: readonly ProviderChoice[] = [
  {
    value: "ngrok",
    label: "ngrok",
    badge: "recommended",
    summary:
      "Encrypted (https). Needs a free ngrok account: copy its authtoken from the ngrok dashboard. With a reserved domain (one is free in each ngrok account) the address stays the same every time Rollcall starts, so you enter it in DreamClass only once.",
  },
  {
    value: "bore",
    label: "bore",
    summary: "Uses a bore server: the public one (bore.pub) or one your IT support runs. The address can change when Rollcall restarts.",
    warning: "Not encrypted: attendance travels over the internet as plain http. Prefer ngrok unless your IT support runs a bore server for you.",
  },
  {
    value: "cloudflare",
    label: "Cloudflare quick tunnel",
    badge: "experimental",
    summary: "Needs the free cloudflared program installed on this computer. Encrypted, but the address changes every time Rollcall starts.",
    warning: "Experimental: you will have to update the URL in DreamClass after each restart.",
  },
  {
    value: "manual",
    label: "I already have a public address",
    summary: "For a reverse proxy or port forwarding set up by your IT support. Rollcall only shows and checks the address.",
  },
  {
    value: "none",
    label: "No public address",
    summary: "DreamClass cannot send anything to this computer; only the test event and “Check for missed changes” bring attendance in.",
  },
];
