/**
 * `BENCH gateway.funnel_p95_ms`: a 4-step ordered funnel (14-day window, breakdown by url) over about
 * 1,000,000 raw events of the generated analytics dataset, through the funnel service uncached (plan,
 * one ClickHouse query, shaping). The table is named by the hash of the generator's options and kept,
 * so later runs skip generating and loading it (it is loaded under a temporary name, then renamed).
 */
import type { FunnelRequest } from "../../api/v1alpha1/funnel.js";
import { qualifiedName } from "../../contracts/clickhouse/sql.js";
import { createFunnelService } from "../../gateway/analytics/funnel-service.js";
import {
  analyticsPipeline,
  type DatasetOptions,
  datasetTableName,
  generateAnalyticsEvents,
  insertAnalyticsEvents,
} from "../support/analytics-dataset.js";
import { clickhouseClient } from "../support/runtime-harness.js";
import type { BenchFigure } from "./bench-figure.js";

const day = 86_400_000;
const runs = 15;

export async function runBench(): Promise<readonly BenchFigure[]> {
  const clickhouse = clickhouseClient();
  try {
    // A fixed start (not "now"): the same options, the same table, reusable across runs.
    const options: DatasetOptions = {
      seed: 1_000_000,
      users: 110_000,
      startMs: Date.UTC(2026, 0, 5),
      days: 8,
      maxAttempts: 3,
    };
    const table = datasetTableName(options);
    const made = analyticsPipeline("bench", table);
    // No TTL: the fixed dates are older than the example's 90-day retention, which would drop the rows.
    const spec = {
      ...made.spec,
      sink: { ...made.spec.sink, clickhouse: { ...made.spec.sink.clickhouse, retentionDays: undefined } },
    };
    const pipeline = { ...made.pipeline, spec };
    const namespace = made.namespace;
    const { database } = spec.sink.clickhouse;
    const exists = await clickhouse
      .query({
        query:
          "SELECT count() AS n FROM system.tables WHERE database = {database:String} AND name = {table:String}",
        query_params: { database, table },
        format: "JSONEachRow",
      })
      .then((r) => r.json<{ n: string | number }>())
      .then((rows) => Number(rows[0]?.n ?? 0) > 0);
    let events = Number.NaN;
    if (!exists) {
      // Loaded under another name and renamed: a table with the final name is always complete.
      const loading = `${table}_loading`;
      const generated = generateAnalyticsEvents(options);
      events = generated.length;
      await clickhouse.command({
        query: `DROP TABLE IF EXISTS ${qualifiedName(database, loading, "bench")}`,
      });
      const loadingSpec = {
        ...spec,
        sink: { ...spec.sink, clickhouse: { ...spec.sink.clickhouse, table: loading } },
      };
      await insertAnalyticsEvents(clickhouse, loadingSpec, generated);
      await clickhouse.command({
        query: `RENAME TABLE ${qualifiedName(database, loading, "bench")} TO ${qualifiedName(database, table, "bench")}`,
      });
    }
    if (Number.isNaN(events))
      events = await clickhouse
        .query({
          query: `SELECT count() AS n FROM ${qualifiedName(database, table, "bench")}`,
          format: "JSONEachRow",
        })
        .then((r) => r.json<{ n: string | number }>())
        .then((rows) => Number(rows[0]?.n ?? 0));
    const service = createFunnelService({
      snapshot: () => ({ pipelines: [pipeline], rollups: [] }),
      clickhouse,
      redis: undefined,
      cache: undefined,
      now: () => Date.now(),
      // The dataset is in the past: the 31-day raw limit is about ranges, not about their age.
    });
    const request: FunnelRequest = {
      steps: ["page_view", "click", "add_to_cart", "purchase"].map((type) => ({
        event: { op: "eq", field: "type", value: type },
      })),
      timeRange: {
        from: new Date(options.startMs).toISOString(),
        to: new Date(options.startMs + 9 * day).toISOString(),
      },
      timezone: "UTC",
      conversionWindowSeconds: 14 * 86_400,
      order: "ordered",
      exclusions: [],
      breakdown: { field: "url", attribution: { type: "first_touch" }, limit: 25 },
      histogramBins: 10,
    };
    const times: number[] = [];
    for (let i = 0; i < runs + 2; i++) {
      const started = performance.now();
      await service.funnel(namespace, request, { explainOnly: false, bypassCache: true });
      if (i >= 2) times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const p95 = times[Math.min(times.length - 1, Math.ceil(0.95 * times.length) - 1)] ?? 0;
    return [
      { name: "gateway.funnel_p95_ms", value: p95, unit: "ms" },
      { name: "gateway.funnel_median_ms", value: times[Math.floor(times.length / 2)] ?? 0, unit: "ms" },
      { name: "gateway.funnel_raw_events", value: events, unit: "events" },
    ];
  } finally {
    await clickhouse.close();
  }
}
