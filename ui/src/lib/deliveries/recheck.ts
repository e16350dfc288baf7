// "Re-check with the current secret" and forwarding, in words: which refused deliveries a
// corrected Secret can still save, what a re-check found for each, and how forwarding to
// another system goes.

import type { DeliveryRow, ForwardingStatus, RecheckResult } from "../api/types";
import { relativeTime } from "../time/format";

/** The refusal codes a correct Secret can cure (as the server's `SECRET_REFUSAL_CODES`). */
export const SECRET_REFUSAL_CODES = ["signature_invalid", "signature_missing", "secret_not_configured"] as const;

export const RECHECK_LABELS: Record<RecheckResult, string> = {
  applied: "Applied",
  duplicate: "Already received",
  superseded: "Older than the stored version",
  ignored: "Saved (not attendance)",
  conflict: "Suspicious",
  still_unverified: "Still does not verify",
  refused: "Refused by another check",
  body_not_kept: "Body not kept",
};

/** Whether a refused delivery was refused for the Secret and may be saved by a re-check. */
export function refusedForSecret(d: Pick<DeliveryRow, "outcome" | "status" | "reason" | "recheck">): boolean {
  if (d.outcome !== "rejected" || d.status !== 401 || d.reason === null) return false;
  const code = d.reason.split(":", 1)[0] ?? "";
  if (!(SECRET_REFUSAL_CODES as readonly string[]).includes(code)) return false;
  return d.recheck === null || d.recheck === "still_unverified";
}

/** The line a re-checked refused delivery shows; `null` when it was never re-checked. */
export function recheckNote(d: Pick<DeliveryRow, "recheck" | "recheckedAt">, nowMs: number): string | null {
  if (d.recheck === null || d.recheckedAt === null) return null;
  return `Re-checked ${relativeTime(d.recheckedAt, nowMs)}: ${RECHECK_LABELS[d.recheck].toLowerCase()}.`;
}

/** Which refused deliveries one re-check looks at. */
export type RecheckScope = "all" | "day" | "hour";

export const RECHECK_SCOPES: { value: RecheckScope; label: string }[] = [
  { value: "all", label: "All refused for the Secret" },
  { value: "day", label: "Received in the last 24 hours" },
  { value: "hour", label: "Received in the last hour" },
];

/** POST /api/deliveries/recheck. */
export type RecheckForm = { from?: number; to?: number; afterSeq?: number };

/** The body of a re-check of `scope` at `nowMs`, continuing after `afterSeq` when given. */
export function recheckForm(scope: RecheckScope, nowMs: number, afterSeq: number | null = null): RecheckForm {
  const form: RecheckForm = {};
  if (scope === "day") form.from = nowMs - 24 * 3_600_000;
  if (scope === "hour") form.from = nowMs - 3_600_000;
  if (afterSeq !== null) form.afterSeq = afterSeq;
  return form;
}

/** One sentence on forwarding: where to, how it goes, what waits and the last failure. */
export function forwardingSentence(s: ForwardingStatus, nowMs: number): string {
  if (s.url === null) return "Forwarding is off: deliveries are not sent to any other system.";
  const parts = [`Accepted deliveries are forwarded to ${s.url}${s.secretConfigured ? ", signed with the forwarding secret" : ", as DreamClass signed them"}.`];
  parts.push(
    s.lastForwardedAt === null
      ? "Nothing has been forwarded since Rollcall started."
      : `${s.forwarded.toLocaleString("en-GB")} forwarded since Rollcall started, the last ${relativeTime(s.lastForwardedAt, nowMs)}.`,
  );
  if (s.waiting > 0) {
    parts.push(`${s.waiting.toLocaleString("en-GB")} waiting to be sent; they are not sent if Rollcall stops first.`);
  }
  const lost = s.givenUp + s.dropped;
  if (lost > 0) parts.push(`${lost.toLocaleString("en-GB")} could not be forwarded.`);
  if (s.lastFailure !== null) parts.push(`Last problem (${relativeTime(s.lastFailure.at, nowMs)}): ${s.lastFailure.message}`);
  return parts.join(" ");
}

/** Whether forwarding needs attention: something waits behind a failure, or was lost. */
export function forwardingTroubled(s: ForwardingStatus): boolean {
  return s.url !== null && (s.givenUp + s.dropped > 0 || (s.waiting > 0 && s.lastFailure !== null && (s.lastForwardedAt ?? 0) < s.lastFailure.at));
}
