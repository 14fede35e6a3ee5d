/**
 * A query's rows for an export, streamed from ClickHouse (I/O): the events plan of the query API with
 * its limit raised to the row cap + 1 (an export is the whole answer; the extra row tells the exporter
 * it was cut), read as JSONCompactEachRowWithNamesAndTypes so rows are converted and written as they
 * arrive. A window query is merged in memory by the query service (its answer is one window's series),
 * then written out the same way.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { columnTypeTraits } from "../../api/v1alpha1/column-types.js";
import type { QueryRequest, ResultValue } from "../../api/v1alpha1/query.js";
import type { NamespaceCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import { type EventsPlan, planQuery } from "../query/plan-query.js";
import type { QueryService } from "../query/query-service.js";
import { renderEventsQuery } from "../query/render-query-sql.js";
import { defaultQueryLimits, mapClickHouseError, type QueryLimits } from "../query/run-query.js";
import type { ExportTable } from "./export-stream.js";

export interface QueryExportDeps {
  readonly catalogue: (namespace: string) => NamespaceCatalogue;
  readonly clickhouse: ClickHouseClient;
  readonly service: QueryService;
  readonly now: () => number;
  readonly queryLimits?: QueryLimits;
}

export type QueryExporter = (
  namespace: string,
  request: QueryRequest,
  rowCap: number,
) => Promise<ExportTable>;

/** A value as the query API's JSON answer has it: times as RFC 3339. */
function convertRow(plan: EventsPlan, names: readonly string[], values: readonly ResultValue[]) {
  const row: Record<string, ResultValue> = {};
  names.forEach((name, i) => {
    const value = values[i] ?? null;
    const field = plan.pipeline.raw.fields.get(name);
    if (name === "time" && plan.granularity !== "none" && typeof value === "number")
      row[name] = new Date(value).toISOString();
    else if (field !== undefined && columnTypeTraits[field.type].temporal && typeof value === "string")
      row[name] = new Date(`${value.replace(" ", "T")}Z`).toISOString();
    else row[name] = value;
  });
  return row;
}

export function createQueryExporter(deps: QueryExportDeps): QueryExporter {
  const limits = deps.queryLimits ?? defaultQueryLimits;
  return async (namespace, request, rowCap) => {
    const plan = planQuery(deps.catalogue(namespace), request, deps.now());
    if (plan.kind === "window") {
      const answer = await deps.service.query(namespace, request, { explainOnly: false, bypassCache: false });
      return { columns: answer.columns.map((c) => c.name), rows: answer.rows };
    }
    const { sql, params } = renderEventsQuery({ ...plan, limit: rowCap + 1 });
    let stream: AsyncIterable<{ json<T>(): T }[]>;
    try {
      const result = await deps.clickhouse.query({
        query: sql,
        query_params: params,
        format: "JSONCompactEachRowWithNamesAndTypes",
        clickhouse_settings: {
          max_execution_time: limits.maxExecutionSeconds,
          max_rows_to_read: String(limits.maxRowsToRead),
          read_overflow_mode: "throw",
          output_format_json_quote_64bit_integers: 0,
          output_format_json_quote_denormals: 0,
          log_comment: `tally-gateway export ${plan.pipeline.name}`,
        },
      });
      stream = result.stream();
    } catch (error) {
      mapClickHouseError(error, `pipeline ${plan.pipeline.name}`);
    }
    const iterator = stream[Symbol.asyncIterator]();
    // The first two lines are the names and the types: the columns are known before any row is sent.
    const head: ResultValue[][] = [];
    let pending: { json<T>(): T }[] = [];
    while (head.length < 2) {
      const next = await iterator.next();
      if (next.done === true) break;
      pending = [...next.value];
      while (head.length < 2 && pending.length > 0)
        head.push((pending.shift() as { json<T>(): T }).json<ResultValue[]>());
    }
    const names = (head[0] ?? []).map(String);
    async function* rows(): AsyncGenerator<Record<string, ResultValue>> {
      try {
        for (const row of pending) yield convertRow(plan as EventsPlan, names, row.json<ResultValue[]>());
        for (let next = await iterator.next(); next.done !== true; next = await iterator.next())
          for (const row of next.value)
            yield convertRow(plan as EventsPlan, names, row.json<ResultValue[]>());
      } finally {
        // Stops reading (and ClickHouse computing) when the client goes or the cap is reached.
        await iterator.return?.();
      }
    }
    return { columns: names, rows: rows() };
  };
}
