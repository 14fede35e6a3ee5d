/**
 * Running a plan on ClickHouse (thin I/O): the events plan as one parameterized query under the
 * gateway's limits, the window plan as the window table's partition shares merged here. ClickHouse's
 * limit errors become 422s that say which limit and how to narrow; an unreachable server a 503.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { columnTypeTraits, renderColumnType } from "../../api/v1alpha1/column-types.js";
import type { QueryResponse, ResultValue } from "../../api/v1alpha1/query.js";
import {
  decodeWindowPartialRow,
  renderWindowPartialsQuery,
  type WindowPartialRow,
} from "../../contracts/clickhouse/window-table-ddl.js";
import { combinePartials } from "../../contracts/windows/window-results.js";
import { resultNames } from "../../contracts/windows/window-spec.js";
import type { EventsPlan } from "./plan-query.js";
import { QueryRefusal, refuse } from "./query-refusal.js";
import { renderEventsQuery } from "./render-query-sql.js";
import type { WindowPlan } from "./window-plan.js";
import { windowRows } from "./window-rows.js";

export interface QueryLimits {
  readonly maxExecutionSeconds: number;
  /** Rows one query may read (a raw scan beyond it is refused by ClickHouse, then by us as a 422). */
  readonly maxRowsToRead: number;
  readonly maxResultBytes: number;
}

export const defaultQueryLimits: QueryLimits = {
  maxExecutionSeconds: 30,
  maxRowsToRead: 500_000_000,
  maxResultBytes: 64 * 1024 * 1024,
};

export interface QueryAnswer {
  readonly columns: QueryResponse["columns"];
  readonly rows: QueryResponse["rows"];
  readonly rowsRead: number;
  readonly elapsedMs: number;
}

interface JsonResult {
  readonly meta: readonly { readonly name: string; readonly type: string }[];
  readonly data: readonly Record<string, ResultValue>[];
  readonly statistics?: { readonly elapsed?: number; readonly rows_read?: number };
}

/** The ClickHouse error codes of the limits the gateway sets, and what to tell the caller. */
const limitErrors: Readonly<Record<string, string>> = {
  "159": "the query ran longer than max_execution_time",
  "158": "the query would read more rows than the gateway allows",
  "396": "the result is larger than the gateway allows",
  "307": "the query would read more bytes than the gateway allows",
};

export function mapClickHouseError(error: unknown, what: string): never {
  if (error instanceof QueryRefusal) throw error;
  const code = (error as { code?: unknown }).code;
  const limit = typeof code === "string" ? limitErrors[code] : undefined;
  if (limit !== undefined)
    refuse(
      422,
      "QueryTooExpensive",
      `${limit} (${what}): narrow the time range, add filters, or use a coarser granularity`,
    );
  if (code === undefined || (error as { type?: unknown }).type === undefined)
    refuse(503, "ClickHouseUnavailable", `ClickHouse did not answer (${what}): ${(error as Error).message}`);
  throw error;
}

export async function runEventsQuery(
  clickhouse: ClickHouseClient,
  plan: EventsPlan,
  limits: QueryLimits,
  queryTag: string,
): Promise<QueryAnswer> {
  const { sql, params } = renderEventsQuery(plan);
  const readsRaw = plan.segments.some((s) => s.source.kind === "Pipeline");
  let body: JsonResult;
  try {
    const result = await clickhouse.query({
      query: sql,
      query_params: params,
      format: "JSON",
      clickhouse_settings: {
        max_execution_time: limits.maxExecutionSeconds,
        max_result_bytes: String(limits.maxResultBytes),
        result_overflow_mode: "throw",
        ...(readsRaw ? { max_rows_to_read: String(limits.maxRowsToRead), read_overflow_mode: "throw" } : {}),
        output_format_json_quote_64bit_integers: 0,
        output_format_json_quote_denormals: 0,
        log_comment: queryTag,
      },
    });
    body = (await result.json()) as unknown as JsonResult;
  } catch (error) {
    mapClickHouseError(error, `pipeline ${plan.pipeline.name}`);
  }
  const fields = plan.pipeline.raw.fields;
  const types = new Map(body.meta.map((m) => [m.name, m.type]));
  const columns: QueryResponse["columns"] = [
    ...(plan.granularity === "none" ? [] : [{ name: "time", role: "time" as const, type: "DateTime" }]),
    ...plan.dimensions.map((d) => {
      const field = fields.get(d);
      return {
        name: d,
        role: "dimension" as const,
        type: field === undefined ? (types.get(d) ?? "String") : renderColumnType(field.type, field.nullable),
      };
    }),
    ...plan.metrics.flatMap((m) =>
      m.columns.map((c) => ({ name: c, role: "metric" as const, type: types.get(c) ?? "Float64" })),
    ),
  ];
  const rows = body.data.map((row) => {
    const out: Record<string, ResultValue> = { ...row };
    if (typeof row.time === "number") out.time = new Date(row.time).toISOString();
    for (const d of plan.dimensions) {
      const field = fields.get(d);
      // Numbers of 64-bit columns arrive as numbers; booleans as booleans: keep them typed as the field.
      if (field !== undefined && columnTypeTraits[field.type].temporal && typeof out[d] === "string")
        out[d] = new Date(`${String(out[d]).replace(" ", "T")}Z`).toISOString();
    }
    return out;
  });
  return {
    columns,
    rows,
    rowsRead: body.statistics?.rows_read ?? 0,
    elapsedMs: (body.statistics?.elapsed ?? 0) * 1000,
  };
}

export async function runWindowQuery(
  clickhouse: ClickHouseClient,
  plan: WindowPlan,
  limits: QueryLimits,
  queryTag: string,
): Promise<QueryAnswer> {
  const started = performance.now();
  let partials: WindowPartialRow[];
  let rowsRead = 0;
  try {
    const result = await clickhouse.query({
      query: renderWindowPartialsQuery(plan.pipeline.spec),
      query_params: { window: plan.window.name, from: plan.range.fromMs, to: plan.range.toMs },
      format: "JSONEachRow",
      clickhouse_settings: {
        max_execution_time: limits.maxExecutionSeconds,
        output_format_json_quote_64bit_integers: 0,
        log_comment: queryTag,
      },
    });
    partials = await result.json<WindowPartialRow>();
    const summary = result.response_headers["x-clickhouse-summary"];
    if (typeof summary === "string")
      rowsRead = Number((JSON.parse(summary) as { read_rows?: string }).read_rows ?? 0);
  } catch (error) {
    mapClickHouseError(error, `window ${plan.window.name} of pipeline ${plan.pipeline.name}`);
  }
  const windows = combinePartials(plan.window.spec, partials.map(decodeWindowPartialRow));
  const fields = plan.pipeline.raw.fields;
  const columns: QueryResponse["columns"] = [
    { name: "window_start", role: "time", type: "DateTime64(3)" },
    { name: "window_end", role: "time", type: "DateTime64(3)" },
    ...plan.dimensions.map((d) => {
      const field = fields.get(d);
      return {
        name: d,
        role: "dimension" as const,
        type: field === undefined ? "String" : renderColumnType(field.type, field.nullable),
      };
    }),
    ...plan.aggregations.flatMap((a) =>
      resultNames(a).map((name) => ({ name, role: "metric" as const, type: "Float64" })),
    ),
  ];
  return { columns, rows: windowRows(plan, windows), rowsRead, elapsedMs: performance.now() - started };
}
