import { describe, expect, it } from "vitest";
import {
  forwardingSentence,
  forwardingTroubled,
  recheckForm,
  recheckNote,
  refusedForSecret,
} from "../src/lib/deliveries/recheck";
import type { DeliveryRow, ForwardingStatus } from "../src/lib/api/types";

function refused(reason: string, over: Partial<DeliveryRow> = {}): DeliveryRow {
  return {
    seq: 1,
    receivedAt: 1,
    requestId: "r1",
    eventType: null,
    tenant: null,
    outcome: "rejected",
    status: 401,
    reason,
    body: "{}",
    bodyBytes: 2,
    recheckedAt: null,
    recheck: null,
    ...over,
  };
}

const NOW = Date.UTC(2026, 11, 3, 9, 0, 0);

function forwarding(over: Partial<ForwardingStatus> = {}): ForwardingStatus {
  return {
    url: "https://other.example.org/in",
    secretConfigured: true,
    waiting: 0,
    forwarded: 0,
    lastForwardedAt: null,
    failedTries: 0,
    givenUp: 0,
    dropped: 0,
    lastFailure: null,
    ...over,
  };
}

describe("re-check with the current secret", () => {
  it("offers only deliveries refused for the Secret that no re-check decided", () => {
    expect(refusedForSecret(refused("signature_invalid: The signature does not match."))).toBe(true);
    expect(refusedForSecret(refused("signature_missing: no signature"))).toBe(true);
    expect(refusedForSecret(refused("secret_not_configured: no secret yet"))).toBe(true);
    expect(refusedForSecret(refused("basic_auth_required: wrong password"))).toBe(false);
    expect(refusedForSecret(refused("invalid_json: not JSON", { status: 400 }))).toBe(false);
    expect(refusedForSecret(refused("signature_invalid: x", { outcome: "applied", status: 200 }))).toBe(false);
    expect(refusedForSecret(refused("signature_invalid: x", { recheck: "applied", recheckedAt: 5 }))).toBe(false);
    expect(refusedForSecret(refused("signature_invalid: x", { recheck: "still_unverified", recheckedAt: 5 }))).toBe(true);
    expect(refusedForSecret(refused("signature_invalid: x", { reason: null }))).toBe(false);
  });

  it("says what a re-check found", () => {
    expect(recheckNote(refused("signature_invalid: x"), NOW)).toBeNull();
    expect(recheckNote({ recheck: "duplicate", recheckedAt: NOW - 5 * 60_000 }, NOW)).toBe("Re-checked 5 min ago: already received.");
    expect(recheckNote({ recheck: "body_not_kept", recheckedAt: NOW }, NOW)).toBe("Re-checked just now: body not kept.");
  });

  it("turns the chosen scope into the request's time range", () => {
    expect(recheckForm("all", NOW)).toEqual({});
    expect(recheckForm("day", NOW)).toEqual({ from: NOW - 24 * 3_600_000 });
    expect(recheckForm("hour", NOW, 42)).toEqual({ from: NOW - 3_600_000, afterSeq: 42 });
  });
});

describe("forwarding status", () => {
  it("says when forwarding is off", () => {
    expect(forwardingSentence(forwarding({ url: null }), NOW)).toBe("Forwarding is off: deliveries are not sent to any other system.");
    expect(forwardingTroubled(forwarding({ url: null, givenUp: 3 }))).toBe(false);
  });

  it("says where to, the last forwarded, what waits and the last problem", () => {
    const text = forwardingSentence(
      forwarding({
        forwarded: 12,
        lastForwardedAt: NOW - 2 * 60_000,
        waiting: 3,
        lastFailure: { at: NOW - 60_000, message: "The forwarding address refused a delivery (HTTP 503)." },
      }),
      NOW,
    );
    expect(text).toBe(
      "Accepted deliveries are forwarded to https://other.example.org/in, signed with the forwarding secret. " +
        "12 forwarded since Rollcall started, the last 2 min ago. " +
        "3 waiting to be sent; they are not sent if Rollcall stops first. " +
        "Last problem (1 min ago): The forwarding address refused a delivery (HTTP 503).",
    );
    expect(forwardingSentence(forwarding({ secretConfigured: false }), NOW)).toContain("as DreamClass signed them");
    expect(forwardingSentence(forwarding({ givenUp: 1, dropped: 2 }), NOW)).toContain("3 could not be forwarded.");
  });

  it("needs attention when deliveries were lost or wait behind a failure", () => {
    expect(forwardingTroubled(forwarding())).toBe(false);
    expect(forwardingTroubled(forwarding({ dropped: 1 }))).toBe(true);
    const failure = { at: NOW, message: "down" };
    expect(forwardingTroubled(forwarding({ waiting: 2, lastFailure: failure, lastForwardedAt: NOW - 1 }))).toBe(true);
    expect(forwardingTroubled(forwarding({ waiting: 2, lastFailure: failure, lastForwardedAt: NOW + 1 }))).toBe(false);
  });
});
