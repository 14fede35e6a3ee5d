import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { DashboardObject, PipelineObject } from "../../api/v1alpha1/objects.js";
import type { QueryRequest, QueryResponse } from "../../api/v1alpha1/query.js";
import type { DashboardSnapshot } from "../../api/v1alpha1/stream.js";
import { createLogger } from "../logger.js";
import { QueryRefusal } from "../query/query-refusal.js";
import type { QueryService } from "../query/query-service.js";
import { parseEventStream } from "./sse-frame.js";
import { type StreamConnection, StreamHub, type StreamObserver } from "./stream-hub.js";

// The hub with a fake query service and a token the test moves by hand: the fan-out's counting rules.

const query = { metrics: ["events"], timeRange: { preset: "last_15m" }, pipeline: "clicks" };
const dashboard = (panels: unknown[], resourceVersion = "1"): DashboardObject => ({
  metadata: { name: "shop", namespace: "ns", resourceVersion },
  spec: { title: "Shop", panels },
});
const pipeline: PipelineObject = {
  metadata: { name: "clicks", namespace: "ns" },
  spec: { sink: { clickhouse: {}, redis: {} }, windows: [{ name: "per_minute", groupBy: ["type"] }] },
};

function answer(events: number): QueryResponse {
  return {
    columns: [{ name: "events", role: "metric", type: "UInt64" }],
    rows: [{ events }],
    explain: {
      source: { kind: "Pipeline", name: "clicks", table: "db.t" },
      segments: [],
      candidates: [],
      range: { from: "2026-01-01T00:00:00Z", to: "2026-01-01T00:15:00Z" },
      approximate: [],
      cache: { status: "bypass", settled: false },
    },
  };
}

class FakeConnection implements StreamConnection {
  text = "";
  closed = false;
  full = false;
  write(frame: string): boolean {
    this.text += frame;
    return !this.full;
  }
  close(): void {
    this.closed = true;
  }
  snapshots(): DashboardSnapshot[] {
    return parseEventStream(this.text)
      .events.filter((e) => e.event === "snapshot")
      .map((e) => JSON.parse(e.data) as DashboardSnapshot);
  }
  parsed() {
    return parseEventStream(this.text);
  }
}

function setup(panels: unknown[] = [{ name: "total", visualization: "stat", source: { query } }]) {
  let nowMs = Date.parse("2026-01-01T00:00:10Z");
  let token = "t1";
  const settled = true;
  let events = 5;
  const queries: QueryRequest[] = [];
  const counts = { viewReads: 0, dropped: 0, tokenReads: 0 };
  const dashboards = new Map<string, DashboardObject>([["ns/shop", dashboard(panels)]]);
  const service: QueryService = {
    sources: async () => ({ sources: [], unusable: [] }),
    query: async (_ns, request) => {
      queries.push(request);
      if (request.dimensions.includes("nope"))
        throw new QueryRefusal(400, {
          error: "UnknownField",
          message: "no field nope",
          field: "dimensions[0]",
        });
      return answer(events);
    },
  };
  const observer: StreamObserver = {
    subscribers: () => undefined,
    views: () => undefined,
    viewRead: () => counts.viewReads++,
    panelQueries: () => undefined,
    droppedFrames: () => counts.dropped++,
    tick: () => undefined,
  };
  const hub = new StreamHub({
    query: service,
    readTokens: async (pipelines) => {
      counts.tokenReads += 1;
      return new Map(pipelines.map((p) => [`${p.namespace}/${p.pipeline}`, { token, settled }]));
    },
    dashboards: { get: (ns, name) => dashboards.get(`${ns}/${name}`) },
    sources: () => ({ pipelines: [pipeline], rollups: [] }),
    logger: createLogger(new Writable({ write: (_c, _e, done) => done() })),
    now: () => nowMs,
    settings: { tickMs: 1_000, pollMs: 100, heartbeatMs: 15_000, untrackedEveryMs: 10_000 },
    observer,
  });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
  return {
    hub,
    queries,
    counts,
    dashboards,
    settle,
    advance: (ms: number) => {
      nowMs += ms;
    },
    moveToken: (t: string) => {
      token = t;
    },
    setEvents: (n: number) => {
      events = n;
    },
  };
}

const spec = { namespace: "ns", source: { kind: "dashboard" as const, name: "shop" }, filter: undefined };

describe("the stream hub", () => {
  it("reads a view once per tick for any number of subscribers, and sends each the snapshot", async () => {
    const t = setup();
    const connections = Array.from({ length: 100 }, () => new FakeConnection());
    for (const c of connections) t.hub.subscribe(spec, undefined, c);
    await t.settle();
    expect(t.counts.viewReads).toBe(1);
    expect(t.queries).toHaveLength(1);
    for (const c of connections)
      expect(c.snapshots().map((s) => s.panels[0])).toMatchObject([
        { name: "total", status: "ok", response: { rows: [{ events: 5 }] } },
      ]);
    t.moveToken("t2");
    t.setEvents(6);
    t.advance(1_000);
    await t.hub.tick();
    expect(t.counts.viewReads).toBe(2);
    expect(t.counts.tokenReads).toBe(2); // once per tick for all views (plus the new view's first read)
    for (const c of connections)
      expect(c.snapshots().map((s) => s.panels[0]?.status === "ok" && s.panels[0].response.rows)).toEqual([
        [{ events: 5 }],
        [{ events: 6 }],
      ]);
  });

  it("reads nothing while the token stays; sends heartbeats; reads again when the range slides", async () => {
    const t = setup();
    const c = new FakeConnection();
    t.hub.subscribe(spec, undefined, c);
    await t.settle();
    t.advance(1_000);
    await t.hub.tick(); // a settled token: no second look
    const reads = t.counts.viewReads;
    for (let i = 0; i < 20; i++) {
      t.advance(1_000);
      await t.hub.tick();
    }
    // From 00:00:10 to 00:00:31: no minute boundary passed, so last_15m still resolves the same.
    expect(t.counts.viewReads).toBe(reads);
    expect(c.parsed().comments).toBe(1);
    t.advance(30_000); // past 00:01:00: last_15m now ends at 00:02:00
    await t.hub.tick();
    expect(t.counts.viewReads).toBe(reads + 1);
    expect(c.snapshots()).toHaveLength(1); // same rows: no new frame
  });

  it("reads a view at most once per tick: a change inside the tick waits for its end, and is not lost", async () => {
    const t = setup();
    const c = new FakeConnection();
    t.hub.subscribe(spec, undefined, c);
    await t.settle();
    t.setEvents(7);
    t.moveToken("t2");
    t.advance(300); // a poll 300 ms after the first read
    await t.hub.tick();
    expect(t.counts.viewReads).toBe(1);
    t.advance(700);
    await t.hub.tick();
    expect(t.counts.viewReads).toBe(2);
    const last = c.snapshots().at(-1)?.panels[0];
    expect(last?.status === "ok" && last.response.rows).toEqual([{ events: 7 }]);
  });

  it("does not re-send the current snapshot to a client whose Last-Event-ID is its version", async () => {
    const t = setup();
    const first = new FakeConnection();
    t.hub.subscribe(spec, undefined, first);
    await t.settle();
    const id = first.parsed().events[0]?.id;
    const again = new FakeConnection();
    t.hub.subscribe(spec, id, again);
    const stale = new FakeConnection();
    t.hub.subscribe(spec, "an-older-version", stale);
    expect(again.parsed().events).toHaveLength(0);
    expect(stale.snapshots()).toHaveLength(1);
  });

  it("keeps one pending frame for a slow client, newer replacing older (dropped frames counted)", async () => {
    const t = setup();
    const slow = new FakeConnection();
    const subscription = t.hub.subscribe(spec, undefined, slow);
    await t.settle();
    slow.full = true;
    for (let i = 0; i < 4; i++) {
      t.setEvents(10 + i);
      t.moveToken(`m${i}`);
      t.advance(1_000);
      await t.hub.tick();
    }
    // The first frame after the socket filled was written (write() said full), then 3 were held in turn.
    expect(slow.snapshots()).toHaveLength(2);
    expect(t.counts.dropped).toBe(2);
    slow.full = false;
    subscription.drained();
    const last = slow.snapshots().at(-1)?.panels[0];
    expect(last?.status === "ok" && last.response.rows).toEqual([{ events: 13 }]);
  });

  it("streams the good panels and an error entry for the bad one", async () => {
    const t = setup([
      { name: "good", visualization: "stat", source: { query } },
      { name: "bad", visualization: "table", source: { query: { ...query, dimensions: ["nope"] } } },
      { name: "broken", visualization: "table", source: { query: { ...query, filter: { op: "eq" } } } },
    ]);
    const c = new FakeConnection();
    t.hub.subscribe(spec, undefined, c);
    await t.settle();
    expect(c.snapshots()[0]?.panels).toMatchObject([
      { name: "good", status: "ok" },
      { name: "bad", status: "error", error: { error: "UnknownField", field: "dimensions[0]" } },
      {
        name: "broken",
        status: "error",
        error: { error: "InvalidPanel", field: expect.stringMatching(/^spec\.panels\[2\]/) },
      },
    ]);
  });

  it("ends the streams with an error event when the Dashboard is deleted, and drops the view", async () => {
    const t = setup();
    const c = new FakeConnection();
    t.hub.subscribe(spec, undefined, c);
    await t.settle();
    t.dashboards.delete("ns/shop");
    await t.hub.tick();
    expect(c.closed).toBe(true);
    expect(c.parsed().events.at(-1)).toMatchObject({ event: "error" });
    expect(JSON.parse(c.parsed().events.at(-1)?.data ?? "{}")).toMatchObject({ error: "NotFound" });
  });

  it("drops a view once its last subscriber left, and reads nothing for it", async () => {
    const t = setup();
    const subscription = t.hub.subscribe(spec, undefined, new FakeConnection());
    await t.settle();
    subscription.close();
    t.moveToken("t9");
    await t.hub.tick();
    expect(t.counts.viewReads).toBe(1);
  });
});
