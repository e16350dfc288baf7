// The DreamClass API connection form (Settings and the setup steps): what is typed, checked
// here with sentences that say what to fix, and the body of PUT /api/settings/dreamclass and
// POST /api/dreamclass/test. The token is never shown back: an empty box keeps the saved one.

import type { DreamClassSettings, DreamClassSettingsBody, DreamClassState, RecoveryReport } from "../api/types";
import { relativeTime } from "../time/format";

export const DEFAULT_API_ADDRESS = "https://api.dreamclass.io/dreamclassapi/v1";

export type DreamClassForm = {
  baseUrl: string;
  token: string;
  tenant: string;
  authHeader: string;
  authPrefix: string;
  tenantHeader: string;
  /** Text as typed; empty means "the current school year". */
  schoolPeriodId: string;
};

export function dreamClassFormFrom(settings: DreamClassSettings | null): DreamClassForm {
  return {
    baseUrl: settings?.baseUrl || DEFAULT_API_ADDRESS,
    token: "",
    tenant: settings?.tenant ?? "",
    authHeader: settings?.authHeader ?? "Authorization",
    authPrefix: settings?.authPrefix ?? "Bearer ",
    tenantHeader: settings?.tenantHeader ?? "tenant",
    schoolPeriodId: settings?.schoolPeriodId != null ? String(settings.schoolPeriodId) : "",
  };
}

export type DreamClassFormResult =
  | { ok: true; body: DreamClassSettingsBody }
  | { ok: false; field: keyof DreamClassForm; message: string };

/** "my-school", from what people paste: "my-school.dreamclass.io", or its web address. */
export function schoolDomain(typed: string): string {
  return typed
    .trim()
    .replace(/^https?:\/\//i, "")
    .replace(/\/.*$/, "")
    .replace(/\.dreamclass\.(io|com|gr)$/i, "")
    .toLowerCase();
}

/** "Bearer" typed without its space would be glued to the token: a word gets its space. */
export function authPrefix(typed: string): string {
  if (typed.trim() === "") return "";
  return /[A-Za-z0-9]$/.test(typed) ? `${typed.trimStart()} ` : typed.trimStart();
}

export function dreamClassBody(form: DreamClassForm, tokenSaved: boolean): DreamClassFormResult {
  const baseUrl = form.baseUrl.trim().replace(/\/+$/, "");
  if (!/^https?:\/\/[^\s/]+/i.test(baseUrl)) {
    return { ok: false, field: "baseUrl", message: `The API address must start with https://, for example ${DEFAULT_API_ADDRESS}.` };
  }
  const token = form.token.trim();
  if (token === "" && !tokenSaved) {
    return { ok: false, field: "token", message: "Paste the API token created in DreamClass (Settings → Integrations → API)." };
  }
  const tenant = schoolDomain(form.tenant);
  if (tenant === "") {
    return { ok: false, field: "tenant", message: "Type your school's DreamClass domain: the first part of its address, for example my-school." };
  }
  if (!/^[a-z0-9][a-z0-9-]*$/.test(tenant)) {
    return { ok: false, field: "tenant", message: "The school domain has only letters, digits and dashes, for example my-school." };
  }
  const body: DreamClassSettingsBody = {
    baseUrl,
    tenant,
    authHeader: form.authHeader.trim() || "Authorization",
    authPrefix: authPrefix(form.authPrefix),
    tenantHeader: form.tenantHeader.trim() || "tenant",
  };
  if (/\s/.test(body.authHeader!) || /\s/.test(body.tenantHeader!)) {
    return { ok: false, field: /\s/.test(body.authHeader!) ? "authHeader" : "tenantHeader", message: "Header names have no spaces." };
  }
  if (token !== "") body.token = token;
  const period = form.schoolPeriodId.trim();
  if (period !== "") {
    if (!/^\d+$/.test(period) || Number(period) < 1) {
      return { ok: false, field: "schoolPeriodId", message: "The school period id is a whole number; leave it empty to use the current school year." };
    }
    body.schoolPeriodId = Number(period);
  }
  return { ok: true, body };
}

export type StatusLine = { tone: "off" | "busy" | "ok" | "error"; text: string; extra: string[] };

/** One line on how the API connection is doing, plus what is waiting to be done. */
export function dreamClassStatusLine(state: DreamClassState | null, nowMs: number): StatusLine | null {
  if (!state) return null;
  const extra: string[] = [];
  if (state.pendingGaps > 0) {
    extra.push(
      state.pendingGaps === 1
        ? "Rollcall was not listening once and has not yet fetched what DreamClass sent then. Use “Check for missed changes”."
        : `Rollcall was not listening ${state.pendingGaps} times and has not yet fetched what DreamClass sent then. Use “Check for missed changes”.`,
    );
  }
  if (!state.configured) {
    return {
      tone: "off",
      text: "Not connected. Students, classes and statuses show as numbers, and missed changes cannot be fetched, until the connection below is filled in.",
      extra,
    };
  }
  if (state.error) {
    const since = state.lastSuccessAt !== null ? ` It last worked ${relativeTime(state.lastSuccessAt, nowMs)}.` : "";
    return { tone: "error", text: `${state.error}${since}`, extra };
  }
  if (state.lastSuccessAt !== null) {
    return { tone: "ok", text: `Connected. Names last read from DreamClass ${relativeTime(state.lastSuccessAt, nowMs)}.`, extra };
  }
  return { tone: "busy", text: "Connecting to DreamClass…", extra };
}

export type CheckRange = { from: string; to: string } | undefined;

/** The optional day range of "Check for missed changes": both days or neither. */
export function checkRange(useRange: boolean, from: string, to: string): { ok: true; range: CheckRange } | { ok: false; message: string } {
  if (!useRange) return { ok: true, range: undefined };
  const iso = /^\d{4}-\d{2}-\d{2}$/;
  if (!iso.test(from) || !iso.test(to)) return { ok: false, message: "Choose both the first and the last day to check." };
  if (from > to) return { ok: false, message: "The first day must not be after the last." };
  return { ok: true, range: { from, to } };
}

/** What to show after a check: the server's sentence, then its errors and notes. */
export function recoverySummary(report: RecoveryReport): { tone: "ok" | "warn" | "error"; message: string; errors: string[]; notes: string[] } {
  const errors = report.errors ?? [];
  const tone = errors.length === 0 ? "ok" : report.recovered > 0 || report.recordsSeen > 0 ? "warn" : "error";
  return { tone, message: report.message, errors, notes: report.notes ?? [] };
}
