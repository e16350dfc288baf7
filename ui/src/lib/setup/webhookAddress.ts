// Which address to give DreamClass. DreamClass calls from the internet, so an address that
// only works inside this computer or the school's network will never receive anything: the
// setup page says so instead of letting the school find out by waiting.

import type { Status, TunnelState } from "../api/types";

export type WebhookAddress = {
  url: string;
  /** The tunnel's public address (online now), rather than the listener's own. */
  isPublic: boolean;
  /** Whether DreamClass, on the internet, could reach `url` at all. */
  reachableFromInternet: boolean;
};

/** `tunnel` may be left out (a listener without one), which reads as off. */
export function webhookAddress(status: Pick<Status, "webhookUrl"> & { tunnel?: TunnelState | null }): WebhookAddress {
  const tunnel = status.tunnel;
  if (tunnel?.state === "online") {
    const url = tunnel.webhookUrl || withWebhookPath(tunnel.publicUrl, status.webhookUrl);
    return { url, isPublic: true, reachableFromInternet: true };
  }
  return { url: status.webhookUrl, isPublic: false, reachableFromInternet: !isPrivateAddress(status.webhookUrl) };
}

/** A bare public base URL ("https://x.ngrok.app") gets the listener's path; a full one is kept. */
export function withWebhookPath(publicUrl: string, webhookUrl: string): string {
  try {
    const pub = new URL(publicUrl);
    if (pub.pathname !== "/" && pub.pathname !== "") return publicUrl;
    const path = new URL(webhookUrl).pathname;
    return `${pub.origin}${path}`;
  } catch {
    return publicUrl;
  }
}

export function isPrivateAddress(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return true;
  }
  host = host.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local") || host === "::1" || host === "0.0.0.0") return true;
  if (/^(fc|fd)[0-9a-f]{2}:/.test(host) || host.startsWith("fe80:")) return true;
  const m = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(host);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a === 127 || a === 10 || (a === 192 && b === 168) || (a === 172 && b >= 16 && b <= 31) || (a === 169 && b === 254);
}
