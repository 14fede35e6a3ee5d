import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderMetricColumn } from "../../contracts/clickhouse/rollup-ddl.js";
import { qualifiedName } from "../../contracts/clickhouse/sql.js";
import { windowTableName } from "../../contracts/clickhouse/window-table-ddl.js";
import { combinePartials } from "../../contracts/windows/window-results.js";
import { quantileLabel } from "../../contracts/windows/window-spec.js";
import type { ProducedMessage } from "../support/clickstream-generator.js";
import { eventually } from "../support/eventually.js";
import { exactQuantile } from "../support/exact-quantile.js";
import {
  clickhouseClient,
  createTables,
  createTopics,
  pipelineManifest,
  planOf,
  produce,
  readWindowPartials,
  runtimeTestNames,
  WorkerProcess,
  waitForCommitted,
  writeManifest,
} from "../support/runtime-harness.js";

// Issue 11, items 3 and 4, through a real worker: a finite stream stops, and every window of every partition
// (the last ones included) is written once the partitions have been idle for idleTimeout; the window's
// quantiles and the minute rollup's (ClickHouse's `quantiles`) agree with the exact values computed here
// within the bound documented in contracts/windows/quantile-sketch.ts; a restarted worker does not fire them
// again, and an event for a closed window afterwards is late.
const clickhouse = clickhouseClient();
afterAll(async () => {
  await clickhouse.close();
});

const IDLE_TIMEOUT_MS = 4_000;
const MARGIN_MS = 30_000;
const QUANTILES = [0.5, 0.95, 0.99] as const;
const ALPHA = 0.01;

interface Event {
  readonly id: string;
  readonly partition: number;
  readonly ts: number;
  readonly type: string;
  readonly url: string;
  readonly latency: number;
  readonly value: number;
}

describe("runtime: idle partitions close their windows", () => {
  const names = runtimeTestNames("idle");
  const manifest = pipelineManifest(names, (spec) => {
    spec.eventTime.idleTimeout = `${IDLE_TIMEOUT_MS / 1000}s`;
    // Negative latencies too (the example's schema refuses them), so quantiles cross zero.
    if (spec.format.type === "json") {
      spec.format.jsonSchema = {
        type: "object",
        required: ["event_id", "user_id", "type", "ts"],
        properties: {
          event_id: { type: "string" },
          user_id: { type: "string" },
          type: { type: "string" },
          url: { type: "string" },
          ts: { type: "string", format: "date-time" },
          latency_ms: { type: "number" },
          value: { type: "number" },
        },
      };
    }
    spec.windows = [
      {
        name: "per_minute",
        type: "tumbling",
        size: "1m",
        groupBy: ["type", "url"],
        aggregations: [
          { fn: "count", name: "events" },
          { fn: "sum", name: "revenue", field: "value" },
          { fn: "quantiles", name: "latency", field: "latency_ms", quantiles: [...QUANTILES] },
        ],
      },
    ];
  });
  const plan = planOf(manifest);
  const spec = plan.windows[0];
  // Two partitions, about six minutes of events each, two hours ago (minute-aligned, relative to now), in
  // order: each partition's last minutes stay open once the stream stops, unless idleness closes them.
  const start = Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000;
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    // The high bits: an LCG's low bits repeat with a short period.
    return Math.floor(seed / 65_536) % n;
  };
  const events: Event[][] = [0, 1].map((partition) =>
    Array.from({ length: 60 + 15 * partition }, (_, i) => ({
      id: `p${partition}-${i}`,
      partition,
      ts: start + i * 6_000 + partition * 1_000,
      type: ["page_view", "click"][random(2)] ?? "click",
      url: ["/a", "/b"][random(2)] ?? "/a",
      latency: random(1_000) - 200,
      value: random(50),
    })),
  );
  // One group of two values that interpolation tells apart (issue 11: window p50 = p95 = -13, rollup 48, 102.9).
  events[0]?.push(
    { id: "q1", partition: 0, ts: start + 30 * 60_000, type: "purchase", url: "/q", latency: -13, value: 1 },
    {
      id: "q2",
      partition: 0,
      ts: start + 30 * 60_000 + 1,
      type: "purchase",
      url: "/q",
      latency: 109,
      value: 1,
    },
  );
  const toMessage = (e: Event, offset: number): ProducedMessage => ({
    partition: e.partition,
    offset,
    key: e.id,
    value: JSON.stringify({
      event_id: e.id,
      user_id: `u${e.id}`,
      type: e.type,
      ts: new Date(e.ts).toISOString(),
      url: e.url,
      latency_ms: e.latency,
      value: e.value,
    }),
    kind: "valid",
    event: undefined,
  });
  const produced = events.map((es) => es.map(toMessage));

  // The ground truth: every (minute, type, url) with its count, revenue and latencies.
  const want = new Map<string, { events: number; revenue: number; latencies: number[] }>();
  for (const e of events.flat()) {
    const key = `${Math.floor(e.ts / 60_000) * 60_000}|${e.type}|${e.url}`;
    const entry = want.get(key) ?? { events: 0, revenue: 0, latencies: [] };
    entry.events++;
    entry.revenue += e.value;
    entry.latencies.push(e.latency);
    want.set(key, entry);
  }

  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    await createTopics(names, 2);
  });
  afterAll(async () => {
    await worker?.stop();
  });

  async function windowsByKey() {
    if (spec === undefined) throw new Error("no window spec");
    const partials = await readWindowPartials(clickhouse, plan, "per_minute");
    return new Map(
      combinePartials(spec, partials).map((w) => [`${w.windowStart}|${w.groupKey.join("|")}`, w]),
    );
  }

  async function windowTableRows(): Promise<number> {
    const table = qualifiedName(
      plan.spec.sink.clickhouse.database,
      windowTableName(plan.spec.sink.clickhouse.table),
      "window table",
    );
    const result = await clickhouse.query({
      query: `SELECT count() AS n FROM ${table}`,
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const [row] = await result.json<{ n: number }>();
    return row?.n ?? Number.NaN;
  }

  it("writes every window within idleTimeout of the end, equal to the ground truth; the rollup's quantiles agree", async () => {
    const rollup = await createTables(clickhouse, plan, names);
    worker = WorkerProcess.start(writeManifest(manifest), "worker-idle");
    await produce(names.topic, produced);
    await waitForCommitted(
      names,
      produced.map((p) => p.length),
    );
    const committedAt = Date.now();
    // Every window complete: a window's share from one partition can be there before the other's.
    const got = await eventually(async () => {
      const windows = await windowsByKey();
      expect([...windows.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [key, w] of want) expect(windows.get(key)?.results.events, `events ${key}`).toBe(w.events);
      return windows;
    }, IDLE_TIMEOUT_MS + MARGIN_MS);
    const tookMs = Date.now() - committedAt;
    await worker.waitForLog(/idle partition: advanced the watermark/, 10_000);

    const fields = new Map(plan.spec.fields.map((f) => [f.name, { type: f.type, nullable: f.nullable }]));
    const latency = renderMetricColumn(
      { fn: "quantiles", name: "latency", field: "latency_ms", quantiles: [...QUANTILES] },
      fields,
      "test",
    );
    const result = await clickhouse.query({
      query: `SELECT toUnixTimestamp(bucket) * 1000 AS bucket, toString(type) AS type, url, ${latency.mergeFunction}(latency) AS latency FROM ${qualifiedName(rollup.ddl.database, rollup.ddl.table, "rollup")} GROUP BY bucket, type, url`,
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const rollupRows = new Map(
      (await result.json<{ bucket: number; type: string; url: string; latency: number[] }>()).map((r) => [
        `${r.bucket}|${r.type}|${r.url}`,
        r.latency,
      ]),
    );
    expect([...rollupRows.keys()].sort()).toEqual([...want.keys()].sort());

    let worst = 0;
    for (const [key, w] of want) {
      const window = got.get(key);
      expect(window?.results.events, `events ${key}`).toBe(w.events);
      expect(window?.results.revenue ?? Number.NaN, `revenue ${key}`).toBeCloseTo(w.revenue, 9);
      QUANTILES.forEach((q, i) => {
        const exact = exactQuantile(w.latencies, q);
        const fromWindow = window?.results[`latency_${quantileLabel(q)}`] ?? Number.NaN;
        const fromRollup = rollupRows.get(key)?.[i] ?? Number.NaN;
        // ClickHouse keeps every value of a state this small: its figure is the exact interpolated one.
        expect(Math.abs(fromRollup - exact.value), `rollup ${key} q=${q}`).toBeLessThanOrEqual(
          1e-9 * (1 + Math.abs(exact.value)),
        );
        // The window's is within the documented bound of it, so of the rollup's.
        expect(Math.abs(fromWindow - fromRollup), `window vs rollup ${key} q=${q}`).toBeLessThanOrEqual(
          exact.bound(ALPHA, 1e-9),
        );
        worst = Math.max(
          worst,
          Math.abs(fromWindow - fromRollup) / Math.max(exact.bound(ALPHA, 1e-9), 1e-12),
        );
      });
    }
    const pair = got.get(`${start + 30 * 60_000}|purchase|/q`)?.results;
    expect([pair?.latency_p50, pair?.latency_p95]).toEqual([48, expect.closeTo(102.9, 9)]);
    console.log(
      `idle windows: ${want.size} windows written ${tookMs} ms after the last commit (idleTimeout ${IDLE_TIMEOUT_MS} ms); window vs rollup quantiles: worst ${(worst * 100).toFixed(1)}% of the bound`,
    );
  }, 180_000);

  it("fires nothing again after a restart; an event for a closed window is then late", async () => {
    const first = worker;
    if (first === undefined) throw new Error("the first test did not start a worker");
    expect(await first.stop()).toEqual({ code: 0, signal: null });
    const rowsBefore = await windowTableRows();
    const before = await windowsByKey();

    worker = WorkerProcess.start(writeManifest(manifest), "worker-idle-2");
    const restarted = worker;
    await eventually(
      async () => {
        const rebuilt = restarted.lines.filter((l) => l.includes('"msg":"rebuilt partition state'));
        expect(rebuilt.map((l) => (JSON.parse(l) as { floors?: number }).floors)).toEqual([1, 1]);
      },
      60_000,
      200,
    );
    // Observe the restarted worker for twice idleTimeout: its partitions are idle, yet nothing is left to fire.
    await new Promise((r) => setTimeout(r, 2 * IDLE_TIMEOUT_MS + 1_000));
    expect(await windowTableRows()).toBe(rowsBefore);
    expect(restarted.lines.some((l) => l.includes("idle partition: advanced the watermark"))).toBe(false);

    // The first minute closed by idleness (watermark now about the wall clock): a new event for it is late.
    const firstEvent = events[0]?.[0];
    if (firstEvent === undefined) throw new Error("no events");
    const late: Event = { ...firstEvent, id: "late", ts: firstEvent.ts + 1 };
    const firstWindow = `${start}|${firstEvent.type}|${firstEvent.url}`;
    await produce(names.topic, [[toMessage(late, produced[0]?.length ?? 0)], []]);
    await waitForCommitted(names, [(produced[0]?.length ?? 0) + 1, produced[1]?.length ?? 0]);
    expect(await restarted.metric("tally_runtime_events_late_dropped_total")).toBe(1);
    const after = await windowsByKey();
    expect(before.get(firstWindow)).toBeDefined();
    expect(after.get(firstWindow)?.results).toEqual(before.get(firstWindow)?.results);
    expect(await restarted.stop()).toEqual({ code: 0, signal: null });
  }, 180_000);
});
