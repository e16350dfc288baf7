// Words for the delivery inspector: what each outcome means for the school, and the raw body
// made readable.

import type { DeliveryOutcome, DeliveryRow } from "../api/types";

export const OUTCOME_LABELS: Record<DeliveryOutcome, string> = {
  applied: "Saved",
  superseded: "Older, no change",
  duplicate: "Sent twice",
  ignored: "Not attendance",
  conflict: "Suspicious",
  rejected: "Refused",
};

export const OUTCOME_MEANINGS: Record<DeliveryOutcome, string> = {
  applied: "Saved: it changed an attendance record.",
  superseded: "Saved, but Rollcall already had a newer version of this record, so nothing changed.",
  duplicate: "DreamClass sent this delivery again; Rollcall already had it, so nothing changed.",
  ignored: "A kind of event Rollcall does not show (not attendance). Kept, nothing changed.",
  conflict:
    "Refused: it reuses the number of an earlier delivery with different content. This can mean someone is sending fake deliveries.",
  rejected: "Refused before saving. The reason says why; nothing was changed.",
};

/** The body as indented JSON when it is JSON, otherwise as received. */
export function prettyBody(body: string | null): string {
  if (body === null || body === "") return "";
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

/** Whether the body shown is shorter than what arrived (refused bodies are kept truncated). */
export function bodyTruncated(d: Pick<DeliveryRow, "body" | "bodyBytes">): boolean {
  if (d.body === null) return d.bodyBytes > 0;
  return new TextEncoder().encode(d.body).length < d.bodyBytes;
}

/** Merges a fresh newest page into the rows shown, newest first, without repeats. */
export function mergeDeliveries(shown: readonly DeliveryRow[], fresh: readonly DeliveryRow[]): DeliveryRow[] {
  const seen = new Set(shown.map((d) => d.seq));
  const added = fresh.filter((d) => !seen.has(d.seq));
  return [...added, ...shown].sort((a, b) => b.seq - a.seq);
}
