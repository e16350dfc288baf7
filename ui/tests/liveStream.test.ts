import { describe, expect, it } from "vitest";
import type { Change } from "../src/lib/api/types";
import { connectionLabel, reconnectDelayMs, type ConnectionState } from "../src/lib/live/connectionState";
import { LiveStream, SILENCE_LIMIT_MS, type EventSourceLike } from "../src/lib/live/liveStream";
import { FeedList } from "../src/lib/feed/feedList";
import { ManualClock } from "./fakeTimers";
import { change, seqs } from "./fixtures";

/** A fake server: holds the change log and answers each stream with `seq > after`, the way
 * the real one does; tests then push new changes, drop connections, or refuse them. */
class FakeServer {
  log: Change[] = [];
  streams: FakeEventSource[] = [];
  up = true;

  commit(c: Change): void {
    this.log.push(c);
    for (const s of this.streams) if (s.open) s.emit("change", JSON.stringify(c));
  }

  openEventSource = (url: string): EventSourceLike => {
    const s = new FakeEventSource(url);
    this.streams.push(s);
    return s;
  };

  /** Answers the newest stream: open + replay, or a failure when the server is down. */
  answer(): void {
    const s = this.latest;
    if (!this.up) {
      s.fail();
      return;
    }
    s.open = true;
    s.onopen?.(new Event("open"));
    const after = Number(new URL(s.url, "http://x").searchParams.get("after"));
    for (const c of this.log) if (c.seq > after) s.emit("change", JSON.stringify(c));
  }

  get latest(): FakeEventSource {
    return this.streams[this.streams.length - 1]!;
  }
}

class FakeEventSource implements EventSourceLike {
  onopen: ((ev: Event) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  open = false;
  closed = false;
  private listeners = new Map<string, ((ev: MessageEvent<string>) => void)[]>();

  constructor(readonly url: string) {}

  addEventListener(type: string, listener: (ev: MessageEvent<string>) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  emit(type: string, data: string): void {
    for (const l of this.listeners.get(type) ?? []) l(new MessageEvent(type, { data }));
  }

  fail(): void {
    this.open = false;
    this.onerror?.(new Event("error"));
  }

  close(): void {
    this.open = false;
    this.closed = true;
  }
}

function setup(startAfter = 0) {
  const clock = new ManualClock();
  const server = new FakeServer();
  const received: Change[] = [];
  const states: ConnectionState[] = [];
  let reconnected = 0;
  let referenceEvents = 0;
  let statusEvents = 0;
  const stream = new LiveStream({
    openEventSource: server.openEventSource,
    onChange: (c) => received.push(c),
    onState: (s) => states.push(s),
    onReconnected: () => reconnected++,
    onReference: () => referenceEvents++,
    onStatus: () => statusEvents++,
    timers: clock,
    now: () => clock.now,
  });
  stream.start(startAfter);
  return { clock, server, received, states, stream, counts: () => ({ reconnected, referenceEvents, statusEvents }) };
}

describe("LiveStream", () => {
  it("asks for changes after the seq the window already has, and goes live", () => {
    const { server, received, states } = setup(2);
    server.log = [change(1), change(2), change(3)];
    expect(server.latest.url).toBe("/api/stream?after=2");
    server.answer();
    expect(seqs(received)).toEqual([3]);
    expect(states.map((s) => s.kind)).toEqual(["connecting", "live"]);
  });

  it("catches up after a dropped stream without losing or repeating a row", () => {
    const { clock, server, received, states, stream, counts } = setup(0);
    server.answer();
    server.commit(change(1));
    server.commit(change(2));
    server.commit(change(3));
    server.latest.fail();
    expect(states.at(-1)).toMatchObject({ kind: "reconnecting", attempt: 1, lostAt: clock.now });
    // The gap: committed while the window was not listening.
    server.log.push(change(4), change(5));
    clock.advance(reconnectDelayMs(1));
    expect(server.streams).toHaveLength(2);
    expect(server.streams[0]!.closed).toBe(true);
    expect(server.latest.url).toBe("/api/stream?after=3");
    server.answer();
    server.commit(change(6));
    expect(seqs(received)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(stream.lastSeq).toBe(6);
    expect(states.at(-1)).toEqual({ kind: "live" });
    expect(counts().reconnected).toBe(1);
  });

  it("drops rows a replay repeats, even if the server sends them again", () => {
    const { server, received } = setup(0);
    server.answer();
    server.commit(change(1));
    server.commit(change(2));
    server.latest.emit("change", JSON.stringify(change(2)));
    server.latest.emit("change", JSON.stringify(change(1)));
    expect(seqs(received)).toEqual([1, 2]);
  });

  it("backs off, then says since when it is offline, and keeps trying", () => {
    const { clock, server, states } = setup(0);
    server.up = false;
    const lostAt = clock.now;
    server.answer(); // try 1 fails
    expect(states.at(-1)).toMatchObject({ kind: "reconnecting", attempt: 1 });
    clock.advance(1000);
    server.answer(); // try 2 fails
    clock.advance(2000);
    server.answer(); // try 3 fails
    expect(states.at(-1)).toMatchObject({ kind: "reconnecting", attempt: 3 });
    clock.advance(4000);
    server.answer(); // try 4 fails: now offline
    const last = states.at(-1)!;
    expect(last).toMatchObject({ kind: "offline", lostAt, attempt: 4 });
    expect(server.streams).toHaveLength(4);
    // Still trying, after a longer wait.
    clock.advance(7999);
    expect(server.streams).toHaveLength(4);
    clock.advance(1);
    expect(server.streams).toHaveLength(5);
    server.up = true;
    server.answer();
    expect(states.at(-1)).toEqual({ kind: "live" });
  });

  it("retries at once when asked, skipping the wait", () => {
    const { server, states, stream } = setup(0);
    server.answer();
    server.latest.fail();
    stream.retryNow();
    expect(server.streams).toHaveLength(2);
    server.answer();
    expect(states.at(-1)).toEqual({ kind: "live" });
  });

  it("ignores events from a stream it has already replaced", () => {
    const { clock, server, received } = setup(0);
    server.answer();
    const old = server.latest;
    old.fail();
    clock.advance(1000);
    old.emit("change", JSON.stringify(change(9)));
    expect(received).toHaveLength(0);
  });

  it("ignores malformed messages and passes reference and status notices on", () => {
    const { server, received, counts } = setup(0);
    server.answer();
    server.latest.emit("change", "not json");
    server.latest.emit("change", JSON.stringify({ hello: 1 }));
    server.latest.emit("reference", "{}");
    server.latest.emit("status", "{}");
    expect(received).toHaveLength(0);
    expect(counts()).toEqual({ reconnected: 0, referenceEvents: 1, statusEvents: 1 });
  });

  it("stops for good when stopped", () => {
    const { clock, server, stream } = setup(0);
    server.answer();
    stream.stop();
    expect(server.latest.closed).toBe(true);
    clock.advance(60_000);
    expect(server.streams).toHaveLength(1);
  });

  it("stays live on a quiet stream while pings arrive every 15 s", () => {
    const { clock, server, states } = setup(0);
    server.answer();
    for (let i = 0; i < 10; i++) {
      clock.advance(15_000);
      server.latest.emit("ping", "{}");
    }
    expect(server.streams).toHaveLength(1);
    expect(states.at(-1)).toEqual({ kind: "live" });
  });

  it("takes a stream silent for 40 s for dead, reconnects, and catches up from the last seq", () => {
    const { clock, server, received, states, counts } = setup(0);
    server.answer();
    server.commit(change(1));
    clock.advance(15_000);
    server.latest.emit("ping", "{}");
    // Then nothing at all: no ping, no error (the connection died without closing).
    server.log.push(change(2));
    clock.advance(SILENCE_LIMIT_MS - 1);
    expect(server.streams).toHaveLength(1);
    clock.advance(1);
    expect(server.streams[0]!.closed).toBe(true);
    expect(states.at(-1)).toMatchObject({ kind: "reconnecting", attempt: 1 });
    clock.advance(reconnectDelayMs(1));
    expect(server.streams).toHaveLength(2);
    expect(server.latest.url).toBe("/api/stream?after=1");
    server.answer();
    expect(seqs(received)).toEqual([1, 2]);
    expect(states.at(-1)).toEqual({ kind: "live" });
    expect(counts().reconnected).toBe(1);
  });

  it("counts any event, not only pings, as a sign of life", () => {
    const { clock, server } = setup(0);
    server.answer();
    for (let i = 1; i <= 5; i++) {
      clock.advance(30_000);
      server.commit(change(i));
    }
    clock.advance(30_000);
    server.latest.emit("status", "{}");
    clock.advance(30_000);
    server.latest.emit("reference", "{}");
    expect(server.streams).toHaveLength(1);
  });

  it("gives up on a connection that neither opens nor fails", () => {
    const { clock, server, states } = setup(0);
    // Never answered.
    clock.advance(SILENCE_LIMIT_MS);
    expect(server.streams[0]!.closed).toBe(true);
    expect(states.at(-1)).toMatchObject({ kind: "reconnecting", attempt: 1 });
    clock.advance(reconnectDelayMs(1));
    server.answer();
    expect(states.at(-1)).toEqual({ kind: "live" });
  });

  it("feeds a FeedList with each row exactly once across a reconnect", () => {
    const list = new FeedList();
    const clock = new ManualClock();
    const server = new FakeServer();
    const stream = new LiveStream({
      openEventSource: server.openEventSource,
      onChange: (c) => list.receiveLive(c),
      onState: () => {},
      timers: clock,
      now: () => clock.now,
    });
    list.addPage([change(2), change(1)]);
    server.log = [change(1), change(2)];
    // The stream starts from before the page (status was read first): it replays 2.
    stream.start(1);
    server.answer();
    server.commit(change(3));
    server.latest.fail();
    server.log.push(change(4));
    clock.advance(1000);
    server.answer();
    expect(seqs(list.items)).toEqual([4, 3, 2, 1]);
  });
});

describe("connection label", () => {
  it("reads as the header shows it", () => {
    expect(connectionLabel({ kind: "live" })).toBe("Live");
    expect(connectionLabel({ kind: "reconnecting", lostAt: 0, attempt: 1 })).toBe("Reconnecting…");
    const lostAt = Date.UTC(2025, 5, 19, 10, 42);
    expect(connectionLabel({ kind: "offline", lostAt, attempt: 5, nextTryAt: 0 }, "UTC")).toBe("Offline since 10:42");
  });

  it("backs off 1, 2, 4 … seconds up to 30", () => {
    expect([1, 2, 3, 4, 5, 6, 9].map(reconnectDelayMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
});
