import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api } from "../src/lib/api/client";
import type { Change } from "../src/lib/api/types";
import { Session } from "../src/lib/app/session";
import type { EventSourceLike } from "../src/lib/live/liveStream";
import { change, seqs } from "./fixtures";

/** A Rollcall server in memory: answers the API from a change log and records the order of calls. */
class FakeRollcall {
  log: Change[] = [];
  calls: string[] = [];
  referenceCalls = 0;
  names: { studentPeriodId: number; name: string }[] = [];
  streams: { url: string; source: EventSourceLike & { emit(type: string, data: string): void } }[] = [];

  alerts: { at: number; kind: string; tenant: string; studentPeriodId: number; name: string; message: string }[] | null = [];
  acknowledged = 0;
  refuseAcknowledge = false;
  /** `GET /api/schools`; null: a Rollcall that cannot list them (404). */
  schools: { id: string; name: string; tenant: string }[] | null = null;

  fetch = async (url: string, init?: RequestInit): Promise<Response> => {
    this.calls.push(url);
    const u = new URL(url, "http://x");
    const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });
    const lastSeq = Math.max(0, ...this.log.map((c) => c.seq));
    switch (u.pathname) {
      case "/api/changes/latest": {
        const limit = Number(u.searchParams.get("limit"));
        const before = u.searchParams.get("before");
        const tenant = u.searchParams.get("tenant");
        const changes = [...this.log]
          .filter((c) => before === null || c.seq < Number(before))
          .filter((c) => tenant === null || c.tenant === tenant)
          .sort((a, b) => b.seq - a.seq)
          .slice(0, limit);
        return json({ changes, lastSeq });
      }
      case "/api/status":
        return json({ lastChangeSeq: lastSeq, storageFailing: false, deliveryCounts: {} });
      case "/api/schools":
        if (this.schools === null) return new Response(JSON.stringify({ error: "not_found", message: "" }), { status: 404 });
        return json({ schools: this.schools, removedSchools: [], backupUrl: null });
      case "/api/alerts":
        if (this.alerts === null) return new Response(JSON.stringify({ error: "not_found", message: "" }), { status: 404 });
        return json({ alerts: this.alerts });
      case "/api/tunnel/acknowledge-url":
        if (init?.method !== "POST") return new Response("{}", { status: 405 });
        if (this.refuseAcknowledge) return new Response(JSON.stringify({ error: "x", message: "Rollcall could not save that." }), { status: 500 });
        this.acknowledged++;
        return json({ ok: true });
      case "/api/reference":
        this.referenceCalls++;
        return json({ statuses: [], students: this.names, classes: [], courses: [] });
      default:
        return new Response("{}", { status: 404 });
    }
  };

  openEventSource = (url: string) => {
    const listeners = new Map<string, ((ev: MessageEvent<string>) => void)[]>();
    const source = {
      onopen: null,
      onerror: null,
      addEventListener: (type: string, l: (ev: MessageEvent<string>) => void) => listeners.set(type, [...(listeners.get(type) ?? []), l]),
      close: () => {},
      emit: (type: string, data: string) => {
        for (const l of listeners.get(type) ?? []) l(new MessageEvent(type, { data }));
      },
    };
    this.streams.push({ url, source });
    this.calls.push(url);
    return source;
  };
}

async function settle() {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe("Session", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("starts the stream after the newest seq, then reads the first screen: nothing falls between", async () => {
    const server = new FakeRollcall();
    server.log = [change(1), change(2), change(3)];
    const session = new Session(new Api(server.fetch), server.openEventSource);
    const feedShown = session.showFeed({ server: {}, student: { kind: "none" } });
    await session.start();
    // A change committed between reading the newest seq and reading the first page.
    server.log.push(change(4));
    await feedShown;
    expect(server.streams[0]!.url).toBe("/api/stream?after=3");
    const streamAt = server.calls.indexOf("/api/stream?after=3");
    const pageAt = server.calls.findIndex((c) => c.startsWith("/api/changes/latest?limit=200"));
    expect(streamAt).toBeGreaterThan(-1);
    expect(pageAt).toBeGreaterThan(streamAt);
    // The stream replays 4 too (seq > 3): it is shown once.
    server.streams[0]!.source.emit("change", JSON.stringify(change(4)));
    server.streams[0]!.source.emit("change", JSON.stringify(change(5)));
    expect(seqs(session.feed.list.items)).toEqual([5, 4, 3, 2, 1]);
    session.stop();
  });

  it("asks for names again when a row shows an id without a name, and names it in place", async () => {
    const server = new FakeRollcall();
    const session = new Session(new Api(server.fetch), server.openEventSource);
    const names: string[] = [];
    session.subscribe(() => names.push(session.current.names.student(4)));
    await session.start();
    await settle();
    const before = server.referenceCalls;
    server.names = [{ studentPeriodId: 4, name: "Zoë Papadopoulou" }];
    server.streams[0]!.source.emit("change", JSON.stringify(change(1, { studentPeriodId: 4 })));
    await vi.advanceTimersByTimeAsync(10_000);
    await settle();
    expect(server.referenceCalls).toBe(before + 1);
    expect(session.current.names.student(4)).toBe("Zoë Papadopoulou");
    expect(names).toContain("Student #4");
    session.stop();
  });

  it("re-reads names at once on the server's reference notice", async () => {
    const server = new FakeRollcall();
    const session = new Session(new Api(server.fetch), server.openEventSource);
    await session.start();
    await settle();
    const before = server.referenceCalls;
    server.streams[0]!.source.emit("reference", "{}");
    await settle();
    expect(server.referenceCalls).toBe(before + 1);
    session.stop();
  });

  it("re-reads the status on the server's status notice (tunnel or settings changed)", async () => {
    const server = new FakeRollcall();
    const session = new Session(new Api(server.fetch), server.openEventSource);
    await session.start();
    await settle();
    const before = server.calls.filter((c) => c === "/api/status").length;
    server.streams[0]!.source.emit("status", "{}");
    await settle();
    expect(server.calls.filter((c) => c === "/api/status").length).toBe(before + 1);
    session.stop();
  });

  it("counts alerts newer than the last visit to Reports, and remembers the visit", async () => {
    const server = new FakeRollcall();
    const stored = new Map<string, string>();
    const store = { get: (k: string) => stored.get(k) ?? null, set: (k: string, v: string) => void stored.set(k, v) };
    server.alerts = [
      { at: 1000, kind: "chronic", tenant: "north", studentPeriodId: 4, name: "Zoë", message: "Zoë is absent in 12% of sessions." },
      { at: 3000, kind: "absences_today", tenant: "north", studentPeriodId: 5, name: "Nikos", message: "Nikos missed 3 lessons today." },
    ];
    const session = new Session(new Api(server.fetch), server.openEventSource, store);
    await session.start();
    await settle();
    // Alerts wait until the first screen has had the database to itself.
    expect(server.calls).not.toContain("/api/alerts");
    await vi.advanceTimersByTimeAsync(2_000);
    expect(session.current.alerts).toHaveLength(2);
    expect(session.current.alertsSeenAt).toBe(0);
    session.markAlertsSeen(2000);
    expect(session.current.alertsSeenAt).toBe(3000);
    session.stop();
    const again = new Session(new Api(server.fetch), server.openEventSource, store);
    expect(again.current.alertsSeenAt).toBe(3000);
    again.stop();
  });

  it("stops asking for alerts on a Rollcall that has none (404) and says so", async () => {
    const server = new FakeRollcall();
    server.alerts = null;
    const session = new Session(new Api(server.fetch), server.openEventSource);
    await session.start();
    await settle();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(session.current.alertsUnavailable).toBe(true);
    const asked = server.calls.filter((c) => c === "/api/alerts").length;
    server.streams[0]!.source.emit("change", JSON.stringify(change(1)));
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(server.calls.filter((c) => c === "/api/alerts").length).toBe(asked);
    session.stop();
  });

  it("reads alerts again a few seconds after attendance changes, once per burst", async () => {
    const server = new FakeRollcall();
    const session = new Session(new Api(server.fetch), server.openEventSource);
    await session.start();
    await settle();
    const asked = () => server.calls.filter((c) => c === "/api/alerts").length;
    const before = asked();
    for (let i = 1; i <= 5; i++) server.streams[0]!.source.emit("change", JSON.stringify(change(i)));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(asked()).toBe(before + 1);
    session.stop();
  });

  it("hides the URL banner at once on “I have updated it”, and brings it back if Rollcall refused", async () => {
    const server = new FakeRollcall();
    const session = new Session(new Api(server.fetch), server.openEventSource);
    await session.start();
    await session.acknowledgeUrl("https://a.ngrok.app/webhooks/dreamclass");
    expect(server.acknowledged).toBe(1);
    expect(session.current.acknowledgedUrl).toBe("https://a.ngrok.app/webhooks/dreamclass");
    server.refuseAcknowledge = true;
    await expect(session.acknowledgeUrl("https://b.ngrok.app/webhooks/dreamclass")).rejects.toThrow("could not save");
    expect(session.current.acknowledgedUrl).toBe("https://a.ngrok.app/webhooks/dreamclass");
    session.stop();
  });

  it("reads the schools before the first screen, keeps the remembered one while it is listed, and falls back to all schools", async () => {
    const server = new FakeRollcall();
    server.schools = [
      { id: "north", name: "North Primary", tenant: "north-primary" },
      { id: "south", name: "South High", tenant: "south-high" },
    ];
    server.log = [change(1, { tenant: "north-primary" }), change(2, { tenant: "south-high" }), change(3, { tenant: "north-primary" })];
    const stored = new Map<string, string>([["rollcall.school", "south-high"]]);
    const store = { get: (k: string) => stored.get(k) ?? null, set: (k: string, v: string) => void stored.set(k, v) };
    const session = new Session(new Api(server.fetch), server.openEventSource, store);
    await session.start();
    expect(session.current.school).toBe("south-high");
    expect(session.current.schools).toHaveLength(2);

    // The alerts are of the school chosen; choosing another asks again, and is remembered.
    await vi.advanceTimersByTimeAsync(2_000);
    expect(server.calls).toContain("/api/alerts?tenant=south-high");
    session.chooseSchool(null);
    await settle();
    expect(session.current.school).toBeNull();
    expect(stored.get("rollcall.school")).toBe("");
    expect(server.calls[server.calls.length - 1]).toBe("/api/alerts");
    session.chooseSchool("north-primary");
    await settle();
    expect(stored.get("rollcall.school")).toBe("north-primary");
    session.stop();

    // South is no longer listed (removed, or no longer this person's): all schools.
    server.schools = [server.schools[0]!, { id: "east", name: "East", tenant: "east" }];
    stored.set("rollcall.school", "south-high");
    const again = new Session(new Api(server.fetch), server.openEventSource, store);
    await again.start();
    expect(again.current.school).toBeNull();
    again.stop();

    // One school only (the office PC): no choice at all, whatever was remembered.
    server.schools = [server.schools[0]!];
    stored.set("rollcall.school", "north-primary");
    const single = new Session(new Api(server.fetch), server.openEventSource, store);
    await single.start();
    expect(single.current.school).toBeNull();
    single.stop();
  });

  it("shows only the chosen school's rows in the feed, first page and live rows alike", async () => {
    const server = new FakeRollcall();
    server.schools = [
      { id: "north", name: "North Primary", tenant: "north-primary" },
      { id: "south", name: "South High", tenant: "south-high" },
    ];
    server.log = [change(1, { tenant: "north-primary" }), change(2, { tenant: "south-high" })];
    const stored = new Map<string, string>([["rollcall.school", "north-primary"]]);
    const store = { get: (k: string) => stored.get(k) ?? null, set: (k: string, v: string) => void stored.set(k, v) };
    const session = new Session(new Api(server.fetch), server.openEventSource, store);
    await session.start();
    await session.showFeed({ server: { tenant: session.current.school! }, student: { kind: "none" } });
    expect(server.calls.some((c) => c.startsWith("/api/changes/latest?tenant=north-primary"))).toBe(true);
    expect(seqs(session.feed.list.items)).toEqual([1]);
    server.streams[0]!.source.emit("change", JSON.stringify(change(3, { tenant: "south-high" })));
    server.streams[0]!.source.emit("change", JSON.stringify(change(4, { tenant: "north-primary" })));
    await settle();
    expect(seqs(session.feed.list.items)).toEqual([4, 1]);
    session.stop();
  });
});
