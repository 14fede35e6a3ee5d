import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueryResponse, ResultValue } from "../../api/v1alpha1/query.js";
import type { RetentionResponse } from "../../api/v1alpha1/retention.js";
import type { SessionsResponse } from "../../api/v1alpha1/sessions.js";
import { createRetentionService } from "../../gateway/analytics/retention-service.js";
import { createSessionsService } from "../../gateway/analytics/sessions-service.js";
import { buildTokenTable } from "../../gateway/auth/token-table.js";
import type { ExportTable } from "../../gateway/export/export-stream.js";
import { createQueryExporter, type QueryExporter } from "../../gateway/export/query-export.js";
import { buildApp, type GatewayApp } from "../../gateway/http/app.js";
import { createLogger } from "../../gateway/logger.js";
import { catalogueLookup } from "../../gateway/query/catalogue-lookup.js";
import { createQueryService } from "../../gateway/query/create-query-service.js";
import {
  type AnalyticsTable,
  createAnalyticsTable,
  dayMs,
  dropAnalyticsTable,
  hourMs,
  minuteMs,
  sessionEvents,
} from "../support/analytics-events.js";
import { clickhouseClient } from "../support/runtime-harness.js";

// Issue 14: CSV and JSON Lines exports of a query, a retention and a sessions answer over HTTP equal the
// JSON answer; the cap cuts at the stated limit (a small cap here, the 300,000 default on a large
// table); rows are pulled from ClickHouse only as fast as the client reads (no full buffering).
const clickhouse = clickhouseClient();
const dayStartMs = Math.floor((Date.now() - 3 * dayMs) / dayMs) * dayMs;
const events = sessionEvents(dayStartMs + hourMs, 5, 20 * minuteMs);
const token = `export-${Math.random().toString(36).slice(2)}`;
const { table: tokens } = buildTokenTable([
  {
    ref: { namespace: "tally", name: "reader" },
    data: { token: Buffer.from(token).toString("base64"), namespaces: Buffer.from("*").toString("base64") },
  },
]);
let small: AnalyticsTable;
let big: AnalyticsTable;
const apps: GatewayApp[] = [];
const bigRows = 320_000;

/** The gateway in-process over the real query and analytics services; `wrap` sees the query export. */
async function startApp(
  exportRowCap: number | undefined,
  wrap: (e: QueryExporter) => QueryExporter = (e) => e,
) {
  const snapshot = () => ({ pipelines: [small.pipeline, big.pipeline], rollups: [] });
  const logger = createLogger(new Writable({ write: (_c, _e, done) => done() }), "error");
  const service = createQueryService({
    snapshot,
    clickhouse,
    redis: undefined,
    cache: undefined,
    logger,
    now: Date.now,
  });
  const analyticsDeps = { snapshot, clickhouse, redis: undefined, cache: undefined, now: Date.now };
  const app = await buildApp({
    service,
    tokens: () => tokens,
    rateLimitPerMinute: 10_000,
    logger,
    analytics: {
      retention: createRetentionService(analyticsDeps),
      sessions: createSessionsService(analyticsDeps),
      exportQuery: wrap(
        createQueryExporter({ catalogue: catalogueLookup(snapshot), clickhouse, service, now: Date.now }),
      ),
      ...(exportRowCap === undefined ? {} : { exportRowCap }),
    },
  });
  apps.push(app);
  return app.listen({ port: 0, host: "127.0.0.1" });
}

beforeAll(async () => {
  small = await createAnalyticsTable(clickhouse, "export", events, { sessionGap: "20m" });
  big = await createAnalyticsTable(clickhouse, "big", []);
  // Long rows (a 200-character url), so the answer is far larger than every socket buffer on the way.
  await clickhouse.command({
    query: `INSERT INTO ${big.table} (event_id, user_id, type, url, ts, _topic, _partition, _offset)
      SELECT concat('big-', toString(number)), concat('u', toString(number % 5000)), 'click',
        concat(repeat('u', 200), toString(number % 1000)), fromUnixTimestamp64Milli(toInt64(${dayStartMs} + number)), 't', 0, number
      FROM numbers(${bigRows})`,
  });
}, 120_000);
afterAll(async () => {
  for (const app of apps) await app.close();
  for (const t of [small, big]) if (t !== undefined) await dropAnalyticsTable(clickhouse, t);
  await clickhouse.close();
});

const iso = (ms: number) => new Date(ms).toISOString();
const range = { from: iso(dayStartMs), to: iso(dayStartMs + dayMs) };

function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}/api/v1/namespaces/analytics/${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** RFC 4180, written here independently of the exporter: quoted fields, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const next = text[i + 1];
    if (quoted && ch === '"' && next === '"') {
      field += '"';
      i += 2;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === ",") {
      record.push(field);
      field = "";
    } else if (!quoted && ch === "\r" && next === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i += 1;
    } else field += ch;
    i += 1;
  }
  return records;
}

const asCsvText = (v: ResultValue | undefined) =>
  v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v);

function expectCsvEqual(
  text: string,
  columns: readonly string[],
  rows: readonly Record<string, ResultValue>[],
) {
  const [header, ...records] = parseCsv(text);
  expect(header).toEqual(columns);
  expect(records).toEqual(rows.map((row) => columns.map((c) => asCsvText(row[c]))));
}

function jsonLines(text: string): unknown[] {
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
}

const query = {
  pipeline: "export",
  metrics: ["count"],
  dimensions: ["type", "url"],
  granularity: "1h",
  timeRange: range,
  orderBy: [
    { field: "time", direction: "asc" },
    { field: "type", direction: "asc" },
    { field: "url", direction: "asc" },
  ],
};

describe("exports", () => {
  it("a query's CSV and JSON Lines equal its JSON answer (quotes, commas, nulls included)", async () => {
    const base = await startApp(undefined);
    const json = (await (await post(base, "query", query)).json()) as QueryResponse;
    expect(json.rows.length).toBeGreaterThan(20);
    expect(json.rows.some((r) => String(r.url).includes('"'))).toBe(true);
    expect(json.rows.some((r) => r.url === null)).toBe(true);
    const csv = await post(base, "query", query, { accept: "text/csv" });
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(csv.headers.get("content-disposition")).toBe('attachment; filename="query-export.csv"');
    expect(csv.headers.get("x-tally-row-cap")).toBe("300000");
    expectCsvEqual(
      await csv.text(),
      json.columns.map((c) => c.name),
      json.rows,
    );
    const jsonl = await post(base, "query?format=jsonl", query);
    expect(jsonl.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    expect(jsonLines(await jsonl.text())).toEqual(json.rows);
  });

  it("retention and sessions answers export as their rows", async () => {
    const base = await startApp(undefined);
    const request = { pipeline: "export", timeRange: range, period: "hour", periods: 4 };
    const retention = (await (await post(base, "retention", request)).json()) as RetentionResponse;
    const grid = retention.cohorts.flatMap((c) =>
      c.cells.map((cell) => ({
        cohort_start: c.start,
        cohort_size: c.size,
        period: cell.period,
        entities: cell.entities,
        percent: cell.percent,
      })),
    );
    expect(grid.length).toBe(24 * 5);
    expectCsvEqual(
      await (await post(base, "retention?format=csv", request)).text(),
      Object.keys(grid[0] ?? {}),
      grid,
    );
    expect(
      jsonLines(await (await post(base, "retention", request, { accept: "application/x-ndjson" })).text()),
    ).toEqual(grid);

    const sessionsRequest = { pipeline: "export", timeRange: range, dimension: "type" };
    const sessions = (await (await post(base, "sessions", sessionsRequest)).json()) as SessionsResponse;
    const lines = jsonLines(
      await (await post(base, "sessions?format=jsonl", sessionsRequest)).text(),
    ) as Record<string, ResultValue>[];
    expect(lines[0]).toMatchObject({
      breakdown: "all",
      key: null,
      sessions: sessions.summary.sessions,
      bounce_rate: sessions.summary.bounceRate,
    });
    expect(
      lines.filter((l) => l.breakdown === "entry_page").map((l) => ({ url: l.key, sessions: l.sessions })),
    ).toEqual(sessions.entryPages);
    expect(lines.filter((l) => l.breakdown === "time").map((l) => l.key)).toEqual(
      sessions.overTime.map((t) => t.time),
    );
  });

  it("a small cap cuts the export at the cap and says so in the header and the last line", async () => {
    const base = await startApp(5);
    const json = (await (await post(base, "query", query)).json()) as QueryResponse;
    const csv = await post(base, "query?format=csv", query);
    expect(csv.headers.get("x-tally-row-cap")).toBe("5");
    const records = parseCsv(await csv.text());
    expect(records).toHaveLength(1 + 5 + 1);
    expect(records.slice(1, 6)).toEqual(
      json.rows.slice(0, 5).map((row) => json.columns.map((c) => asCsvText(row[c.name]))),
    );
    expect(records[6]).toEqual(["# truncated: the export stops at its cap of 5 rows"]);
    const lines = jsonLines(await (await post(base, "query?format=jsonl", query)).text());
    expect(lines).toEqual([...json.rows.slice(0, 5), { _tally: { truncated: true, rowCap: 5 } }]);
  });

  it("streams from ClickHouse as the client reads, and cuts at the default cap of 300,000", async () => {
    let pulled = 0;
    const counting =
      (exporter: QueryExporter): QueryExporter =>
      async (ns, request, cap) => {
        const table: ExportTable = await exporter(ns, request, cap);
        async function* rows() {
          for await (const row of table.rows) {
            pulled += 1;
            yield row;
          }
        }
        return { columns: table.columns, rows: rows() };
      };
    const base = await startApp(undefined, counting);
    const response = await post(base, "query?format=csv", {
      pipeline: "big",
      metrics: ["count"],
      dimensions: ["event_id", "url"],
      timeRange: range,
      limit: 10,
    });
    expect(response.headers.get("x-tally-row-cap")).toBe("300000");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    // Stop reading until the gateway stops pulling rows (backpressure), then count what it pulled.
    let settled = -1;
    while (settled !== pulled) {
      settled = pulled;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(pulled).toBeLessThan(bigRows / 2);
    // Then read the rest: the header, 300,000 rows and the truncation line (records end with CRLF).
    const decoder = new TextDecoder();
    let text = decoder.decode(first.value, { stream: true });
    let records = 0;
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      text += decoder.decode(next.value, { stream: true });
      const lastEnd = text.lastIndexOf("\r\n");
      records += text.slice(0, lastEnd + 2).split("\r\n").length - 1;
      text = text.slice(lastEnd + 2);
    }
    expect(text).toBe("");
    expect(records).toBe(1 + 300_000 + 1);
    expect(pulled).toBe(300_001);
  }, 120_000);
});
