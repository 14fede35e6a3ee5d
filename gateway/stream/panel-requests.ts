/**
 * A view's panels as queries (pure): each Dashboard panel (or the one ad-hoc query) becomes the
 * QueryRequest POST /query would take, with the stream's drill-down filter ANDed into its own; a panel
 * the schema refuses becomes an error entry naming its field, and the other panels still serve.
 *
 * A `window` panel (a pipeline's live window) is a window query over the window instances that started
 * in the last hour, grouped by the panel's dimensions (all of the window's groupBy fields by default).
 */
import type { DashboardPanel, Visualization } from "../../api/v1alpha1/dashboard.js";
import { dashboardDefaults } from "../../api/v1alpha1/defaults.js";
import { parseDuration } from "../../api/v1alpha1/duration.js";
import type { ErrorResponse, QueryFilter, QueryRequest } from "../../api/v1alpha1/query.js";
import {
  formatProblems,
  validateDashboardPanel,
  validateDashboardSpec,
} from "../../api/v1alpha1/validation.js";

export type PanelRefresh =
  | { readonly mode: "live" }
  | { readonly mode: "interval"; readonly everyMs: number };

interface PanelCommon {
  readonly name: string;
  readonly title?: string;
  readonly visualization: Visualization;
}

export type PanelPlan =
  | (PanelCommon & {
      readonly kind: "query";
      readonly request: QueryRequest;
      readonly refresh: PanelRefresh;
    })
  | (PanelCommon & { readonly kind: "invalid"; readonly error: ErrorResponse });

/** A window's groupBy fields, from the pipeline's spec as the watch holds it; undefined if unknown. */
export type GroupByOf = (pipeline: string, window: string) => readonly string[] | undefined;

export const windowPanelRange = { preset: "last_1h" } as const;

export function withFilter(request: QueryRequest, filter: QueryFilter | undefined): QueryRequest {
  if (filter === undefined) return request;
  return {
    ...request,
    filter: request.filter === undefined ? filter : { op: "and", filters: [request.filter, filter] },
  };
}

function panelRequest(panel: DashboardPanel, groupByOf: GroupByOf): QueryRequest {
  const { source } = panel;
  if ("query" in source) return source.query;
  const { pipeline, window, metrics, dimensions } = source.window;
  return {
    pipeline,
    window,
    metrics: [...metrics],
    dimensions: [...(dimensions ?? groupByOf(pipeline, window) ?? [])],
    timeRange: windowPanelRange,
    granularity: "none",
    timezone: "UTC",
    orderBy: [],
    limit: 10_000,
    offset: 0,
  };
}

/**
 * A topN panel asks for its top `topN.limit` rows by its first metric (descending) unless it orders
 * them itself: the ranking happens in the query, so the panel never pulls every dimension value.
 */
function rankedForTopN(panel: DashboardPanel, request: QueryRequest): QueryRequest {
  if (panel.visualization !== "topN") return request;
  const [first] = request.metrics;
  const rankBy = typeof first === "string" ? first : first?.name;
  const orderBy =
    request.orderBy !== undefined && request.orderBy.length > 0
      ? request.orderBy
      : rankBy === undefined
        ? []
        : [{ field: rankBy, direction: "desc" as const }];
  const limit = panel.topN?.limit ?? dashboardDefaults["panels[*].topN.limit"];
  return { ...request, orderBy, limit: Math.min(request.limit ?? limit, limit) };
}

function refreshOf(panel: DashboardPanel): PanelRefresh {
  return panel.refresh.mode === "interval" && panel.refresh.every !== undefined
    ? { mode: "interval", everyMs: parseDuration(panel.refresh.every, "refresh.every") }
    : { mode: "live" };
}

function panelPlan(panel: DashboardPanel, filter: QueryFilter | undefined, groupByOf: GroupByOf): PanelPlan {
  return {
    kind: "query",
    name: panel.name,
    ...(panel.title === undefined ? {} : { title: panel.title }),
    visualization: panel.visualization,
    request: withFilter(rankedForTopN(panel, panelRequest(panel, groupByOf)), filter),
    refresh: refreshOf(panel),
  };
}

function invalidPanel(raw: unknown, index: number, message: string, field: string): PanelPlan {
  const fields = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const name = typeof fields.name === "string" ? fields.name : `panel_${index}`;
  const visualization = typeof fields.visualization === "string" ? fields.visualization : "table";
  return {
    kind: "invalid",
    name,
    ...(typeof fields.title === "string" ? { title: fields.title } : {}),
    visualization: (["timeseries", "bar", "table", "stat", "topN"].includes(visualization)
      ? visualization
      : "table") as Visualization,
    error: { error: "InvalidPanel", message, field },
  };
}

export type DashboardPlan =
  | { readonly kind: "panels"; readonly panels: readonly PanelPlan[] }
  | { readonly kind: "invalid"; readonly error: ErrorResponse };

/** Every panel of a Dashboard's spec, each judged alone (as the operator's status does). */
export function dashboardPanels(
  spec: unknown,
  filter: QueryFilter | undefined,
  groupByOf: GroupByOf,
): DashboardPlan {
  const whole = validateDashboardSpec(spec);
  if (whole.ok)
    return { kind: "panels", panels: whole.value.panels.map((p) => panelPlan(p, filter, groupByOf)) };
  const raw = (spec as { panels?: unknown } | null)?.panels;
  if (!Array.isArray(raw) || whole.problems.some((p) => !/^spec\.panels\[\d+\]/.test(p.path)))
    return {
      kind: "invalid",
      error: {
        error: "InvalidDashboard",
        message: formatProblems(whole.problems),
        ...(whole.problems[0] === undefined ? {} : { field: whole.problems[0].path }),
      },
    };
  return {
    kind: "panels",
    panels: raw.map((panel: unknown, i) => {
      const checked = validateDashboardPanel(panel, `spec.panels[${i}]`);
      return checked.ok
        ? panelPlan(checked.value, filter, groupByOf)
        : invalidPanel(
            panel,
            i,
            formatProblems(checked.problems),
            checked.problems[0]?.path ?? `spec.panels[${i}]`,
          );
    }),
  };
}

/** `?query=`: one panel, shown as a table, re-read live. */
export function adHocPanel(request: QueryRequest, filter: QueryFilter | undefined): PanelPlan {
  return {
    kind: "query",
    name: "query",
    visualization: "table",
    request: withFilter(request, filter),
    refresh: { mode: "live" },
  };
}

/** The pipeline a panel reads: named, or the namespace's only one (undefined when that is ambiguous). */
export function panelPipeline(request: QueryRequest, pipelines: readonly string[]): string | undefined {
  if (request.pipeline !== undefined) return request.pipeline;
  return pipelines.length === 1 ? pipelines[0] : undefined;
}
