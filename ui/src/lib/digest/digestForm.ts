// The "Daily e-mail digest" card: the settings as a person types them (addresses one per
// line, the port as text, the password only when typed) and as the API takes them
// (GET/PUT /api/settings/digest, POST /api/digest/test). The server checks everything again
// and answers with a sentence; checking the obvious here lets the form say which field is
// wrong before anything is sent.

import type { DigestForm, DigestSettingsView, DigestStatus, DigestTlsMode } from "../api/types";

export type DigestFormFields = {
  enabled: boolean;
  /** One address per line (commas and semicolons also separate). */
  recipients: string;
  sendAt: string;
  schoolName: string;
  smtpHost: string;
  /** Empty: the usual port of the encryption chosen. */
  smtpPort: string;
  tls: DigestTlsMode;
  username: string;
  /** Empty: keep the saved password. */
  password: string;
  from: string;
  caFile: string;
};

export type DigestField = keyof DigestFormFields;

export type DigestCheck = { ok: true; body: DigestForm } | { ok: false; problems: Partial<Record<DigestField, string>> };

export const TLS_CHOICES: readonly { value: DigestTlsMode; label: string; port: number }[] = [
  { value: "starttls", label: "STARTTLS (usually port 587)", port: 587 },
  { value: "implicit", label: "TLS from the start (usually port 465)", port: 465 },
  { value: "none", label: "None: only a mail server on this computer", port: 25 },
];

export function usualPort(tls: DigestTlsMode): number {
  return TLS_CHOICES.find((c) => c.value === tls)?.port ?? 587;
}

export function digestToForm(view: DigestSettingsView): DigestFormFields {
  return {
    enabled: view.enabled,
    recipients: view.recipients.join("\n"),
    sendAt: view.sendAt || view.defaultSendAt,
    schoolName: view.schoolName,
    smtpHost: view.smtpHost,
    smtpPort: view.smtpPort === null ? "" : String(view.smtpPort),
    tls: view.tls,
    username: view.username,
    password: "",
    from: view.from,
    caFile: view.caFile ?? "",
  };
}

/** "a@x.org, b@y.org\nc@z.org" → the three addresses. */
export function parseRecipients(text: string): string[] {
  return text
    .split(/[\n,;]+/)
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
}

const ADDRESS = /^[^\s@]+@[^\s@]+$/;
const TIME = /^([01]?\d|2[0-3]):[0-5]\d$/;

function isLoopback(host: string): boolean {
  const h = host.trim().replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\./.test(h);
}

/**
 * The body to send, or the problems by field. `forTest`: the test button needs everything a
 * send needs even while the daily digest is off.
 */
export function checkDigestForm(form: DigestFormFields, forTest = false): DigestCheck {
  const problems: Partial<Record<DigestField, string>> = {};
  const recipients = parseRecipients(form.recipients);
  const complete = form.enabled || forTest;
  const wrong = recipients.find((r) => !ADDRESS.test(r));
  if (wrong) problems.recipients = `"${wrong}" is not an e-mail address. Write one address per line.`;
  else if (complete && recipients.length === 0) problems.recipients = "Add at least one address to send the digest to.";
  if (!TIME.test(form.sendAt.trim())) problems.sendAt = "Write the time as hours and minutes on the 24-hour clock, such as 16:00.";
  const host = form.smtpHost.trim();
  if (complete && host === "") problems.smtpHost = "Enter the mail server your school sends e-mail through.";
  else if (form.tls === "none" && host !== "" && !isLoopback(host))
    problems.tls = "Without encryption the digest goes only to a mail server on this computer: choose STARTTLS or TLS.";
  let port: number | undefined;
  const portText = form.smtpPort.trim();
  if (portText !== "") {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) problems.smtpPort = "Write a port between 1 and 65535, or leave it empty for the usual one.";
  }
  const from = form.from.trim();
  if (from !== "" && !ADDRESS.test(from)) problems.from = "Write the sender as an e-mail address, such as rollcall@school.example.org.";
  else if (complete && from === "") problems.from = "Enter the address the digest is sent from.";
  if (Object.keys(problems).length > 0) return { ok: false, problems };
  const body: DigestForm = {
    enabled: form.enabled,
    recipients,
    sendAt: form.sendAt.trim(),
    schoolName: form.schoolName.trim(),
    smtpHost: host,
    tls: form.tls,
    username: form.username.trim(),
    from,
  };
  if (port !== undefined) body.smtpPort = port;
  if (form.password !== "") body.password = form.password;
  if (form.caFile.trim() !== "") body.caFile = form.caFile.trim();
  return { ok: true, body };
}

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** The status line under the form: what was sent, what failed and what happens next. */
export function digestStatusText(view: Pick<DigestSettingsView, "enabled" | "sendAt" | "status">): { tone: "ok" | "error" | "muted"; text: string } {
  const s: DigestStatus = view.status;
  if (s.failure) {
    const next = s.gaveUp || s.nextTryAt === null ? "It is not tried again today; correct the settings and it is tried afresh." : `Rollcall tries again at ${clock(s.nextTryAt)}.`;
    return { tone: "error", text: `Today's digest was not sent: ${s.failure} ${next}` };
  }
  if (!view.enabled) return { tone: "muted", text: "The daily digest is off." };
  const last = s.lastSentDay ? ` Last sent for ${s.lastSentDay}.` : "";
  return { tone: "ok", text: `Sent every day with attendance at ${view.sendAt}.${last}` };
}
