import { describe, expect, it } from "vitest";
import { Api } from "../src/lib/api/client";
import { ApiError } from "../src/lib/api/errors";

function answering(status: number, body: unknown): Api {
  return new Api(async () => new Response(typeof body === "string" ? body : JSON.stringify(body), { status }));
}

async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("expected a failure");
}

describe("API errors the user can meet", () => {
  it("says what to do when Rollcall is not running", async () => {
    const api = new Api(async () => {
      throw new TypeError("Failed to fetch");
    });
    const err = await failure(api.status());
    expect(err.status).toBe(0);
    expect(err.message).toMatch(/not answering.*still open/);
  });

  it("explains a lost sign-in rather than showing token_required", async () => {
    const err = await failure(answering(401, { error: "token_required", message: "token required" }).status());
    expect(err.code).toBe("token_required");
    expect(err.message).toMatch(/Close this window and open Rollcall again/);
  });

  it("passes the server's sentence on", async () => {
    const err = await failure(answering(400, { error: "bad_secret", message: "The secret is not valid base64." }).saveWebhookSettings({ secret: "x", keyEncoding: "base64", basicAuth: null }));
    expect(err.message).toBe("The secret is not valid base64.");
  });

  it("recognises an endpoint this version does not have", async () => {
    const err = await failure(answering(404, "Not Found").saveWebhookSettings({ secret: null, keyEncoding: "text", basicAuth: null }));
    expect(err.notFound).toBe(true);
    expect(err.message).toBe("This version of Rollcall does not offer this yet.");
  });

  it("sends filters as query parameters, same origin, with the cookie", async () => {
    const seen: { url: string; init?: RequestInit }[] = [];
    const api = new Api(async (url, init) => {
      seen.push({ url, init });
      return new Response(JSON.stringify({ changes: [], lastSeq: 0 }), { status: 200 });
    });
    await api.latestChanges({ classId: 34, date: "2025-06-19" }, 100, 200);
    expect(seen[0]!.url).toBe("/api/changes/latest?date=2025-06-19&classId=34&before=100&limit=200");
    expect(seen[0]!.init?.credentials).toBe("same-origin");
  });
});
