/**
 * The query builder's choices → the body of POST /query (pure). A source from GET /sources fixes the
 * pipeline (and the window, for a live window); its metrics and dimensions are what can be ticked. The
 * router still picks the table: the answer's explain says which one and why.
 */
import type { QueryRequest, SourceDescription } from "../../../api/v1alpha1/query.js";

/** As the query language has them (a unit test keeps these equal to api/v1alpha1's lists). */
export const queryGranularityChoices = [
  "none",
  "1m",
  "5m",
  "10m",
  "15m",
  "30m",
  "1h",
  "6h",
  "12h",
  "1d",
] as const;
export const rangePresetChoices = [
  "last_15m",
  "last_1h",
  "last_6h",
  "last_24h",
  "last_7d",
  "today",
  "yesterday",
  "this_week",
] as const;

export interface QueryForm {
  readonly source: Pick<SourceDescription, "kind" | "name" | "pipeline">;
  readonly metrics: readonly string[];
  readonly dimensions: readonly string[];
  readonly range: string;
  readonly granularity: string;
}

export type QueryBody = Pick<QueryRequest, "pipeline" | "window" | "metrics" | "dimensions" | "timeRange"> & {
  granularity: string;
};

export type FormCheck =
  | { readonly ok: true; readonly body: QueryBody }
  | { readonly ok: false; readonly message: string };

export function buildQueryBody(form: QueryForm): FormCheck {
  if (form.metrics.length === 0) return { ok: false, message: "metrics: tick at least one metric" };
  const granularity = (queryGranularityChoices as readonly string[]).includes(form.granularity)
    ? form.granularity
    : undefined;
  if (granularity === undefined)
    return {
      ok: false,
      message: `granularity: ${form.granularity} is not one of ${queryGranularityChoices.join(", ")}`,
    };
  return {
    ok: true,
    body: {
      pipeline: form.source.pipeline,
      ...(form.source.kind === "Window" ? { window: form.source.name } : {}),
      metrics: [...form.metrics],
      dimensions: [...form.dimensions],
      timeRange: { preset: form.range },
      granularity,
    },
  };
}
