/**
 * A funnel request checked against the pipeline and resolved (pure): the raw table, the entity, the
 * range, each step's and exclusion's filter checked against the fields, the exclusions as per-gap
 * masks, the breakdown and the segment. Every refusal names the request field.
 */
import type { FunnelOrder, FunnelRequest } from "../../api/v1alpha1/funnel.js";
import type { QueryFilter } from "../../api/v1alpha1/query.js";
import type { NamespaceCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import { defaultPlanLimits } from "../query/plan-query.js";
import { checkFilter } from "../query/query-fields.js";
import { refuse } from "../query/query-refusal.js";
import { type AnalyticsSource, checkField, resolveAnalyticsSource } from "./analytics-source.js";
import { type ResolvedSegment, resolveSegment } from "./segment-sql.js";

export type FunnelAttribution =
  | { readonly type: "first_touch" }
  | { readonly type: "step"; readonly step: number };

export interface FunnelBreakdown {
  readonly field: string;
  readonly attribution: FunnelAttribution;
  readonly limit: number;
}

export interface FunnelExclusion {
  readonly event: QueryFilter;
  /** Gaps (gap g lies between step g and step g + 1) in which the event excludes. */
  readonly gaps: readonly number[];
}

export interface FunnelPlan {
  readonly source: AnalyticsSource;
  readonly steps: readonly { readonly name: string; readonly event: QueryFilter }[];
  readonly order: FunnelOrder;
  readonly windowMs: number;
  readonly exclusions: readonly FunnelExclusion[];
  readonly breakdown: FunnelBreakdown | undefined;
  readonly histogramBins: number;
  readonly segment: ResolvedSegment | undefined;
}

function planExclusions(
  request: FunnelRequest,
  stepCount: number,
  source: AnalyticsSource,
): FunnelExclusion[] {
  const exclusions = request.exclusions ?? [];
  if (exclusions.length > 0 && request.order === "any")
    refuse(400, "InvalidExclusion", "exclusions need an order of steps; order any has none", {
      field: "exclusions",
    });
  return exclusions.map((exclusion, i) => {
    const at = `exclusions[${i}]`;
    if (exclusion.toStep >= stepCount)
      refuse(400, "InvalidExclusion", `toStep ${exclusion.toStep} is not a step (0 … ${stepCount - 1})`, {
        field: `${at}.toStep`,
      });
    if (exclusion.fromStep >= exclusion.toStep)
      refuse(
        400,
        "InvalidExclusion",
        `fromStep must be before toStep (${exclusion.fromStep} ≥ ${exclusion.toStep})`,
        {
          field: `${at}.fromStep`,
        },
      );
    checkFilter(exclusion.event, source.raw.fields, `pipeline ${source.pipeline}`, `${at}.event`);
    const gaps: number[] = [];
    for (let g = exclusion.fromStep; g < exclusion.toStep; g++) gaps.push(g);
    return { event: exclusion.event, gaps };
  });
}

function planBreakdown(
  request: FunnelRequest,
  stepCount: number,
  source: AnalyticsSource,
): FunnelBreakdown | undefined {
  const breakdown = request.breakdown;
  if (breakdown === undefined) return undefined;
  checkField(source.raw, breakdown.field, "breakdown.field");
  const attribution = breakdown.attribution ?? { type: "first_touch" };
  if (attribution.type === "step") {
    if (attribution.step >= stepCount)
      refuse(400, "InvalidBreakdown", `step ${attribution.step} is not a step (0 … ${stepCount - 1})`, {
        field: "breakdown.attribution.step",
      });
    if (request.order === "any")
      refuse(400, "InvalidBreakdown", "order any has no path to take a step's value from; use first_touch", {
        field: "breakdown.attribution",
      });
  }
  return { field: breakdown.field, attribution, limit: breakdown.limit ?? 25 };
}

export function planFunnel(
  catalogue: NamespaceCatalogue,
  request: FunnelRequest,
  nowMs: number,
  rawMaxRangeMs = defaultPlanLimits.rawMaxRangeMs,
): FunnelPlan {
  const source = resolveAnalyticsSource(catalogue, request, nowMs, rawMaxRangeMs);
  const steps = request.steps.map((step, i) => {
    checkFilter(step.event, source.raw.fields, `pipeline ${source.pipeline}`, `steps[${i}].event`);
    return { name: step.name ?? `step ${i}`, event: step.event };
  });
  return {
    source,
    steps,
    order: request.order,
    windowMs: request.conversionWindowSeconds * 1000,
    exclusions: planExclusions(request, steps.length, source),
    breakdown: planBreakdown(request, steps.length, source),
    histogramBins: request.histogramBins,
    segment:
      request.segment === undefined
        ? undefined
        : resolveSegment(request.segment, source.raw, source.range, source.timezone, nowMs, rawMaxRangeMs),
  };
}
