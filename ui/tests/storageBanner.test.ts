import { describe, expect, it } from "vitest";
import type { Status } from "../src/lib/api/generated";
import { storageBanner } from "../src/lib/storage/banner";

function status(over: Partial<Status>): Status {
  return {
    version: "0.1.0",
    webhookUrl: "http://127.0.0.1:8787/webhooks/dreamclass",
    uiUrl: "http://127.0.0.1:8788/",
    secretConfigured: true,
    basicAuthConfigured: false,
    allowUnsigned: false,
    lastChangeSeq: 0,
    lastDeliveryAt: null,
    deliveryCounts: {},
    storageFailing: false,
    database: null,
    databaseUnreachable: false,
    rejectionsDropped: 0,
    startedAt: 0,
    tunnel: { state: "off" },
    ...over,
  } as Status;
}

describe("the banner when attendance cannot be saved", () => {
  it("says nothing while saving works", () => {
    expect(storageBanner(null)).toBeNull();
    expect(storageBanner(status({}))).toBeNull();
    expect(storageBanner(status({ database: "postgres://rollcall@db/rollcall" }))).toBeNull();
  });

  it("points an office at this computer's disk", () => {
    const banner = storageBanner(status({ storageFailing: true }));
    expect(banner?.title).toMatch(/cannot save/);
    expect(banner?.text).toMatch(/disk is not full/);
  });

  it("tells a district that the database server is unreachable, and that nothing is lost", () => {
    const banner = storageBanner(
      status({ storageFailing: true, databaseUnreachable: true, database: "postgres://rollcall:…@db.district/rollcall" }),
    );
    expect(banner?.title).toMatch(/cannot reach its database server/);
    expect(banner?.text).toMatch(/nothing is lost/);
    expect(banner?.text).toContain("postgres://rollcall:…@db.district/rollcall");
    expect(banner?.text).not.toMatch(/disk/);
  });

  it("asks the IT team when the database server refuses to save", () => {
    const banner = storageBanner(status({ storageFailing: true, database: "postgres://rollcall@db/rollcall" }));
    expect(banner?.text).toMatch(/IT team/);
    expect(banner?.text).not.toMatch(/disk/);
  });
});
