/** A Pipeline's `windows` as the runtime core's window specs (durations in ms, aggregation names as `as`). */
import type { Aggregation } from "../../api/v1alpha1/aggregation.js";
import { parseDuration } from "../../api/v1alpha1/duration.js";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { type AggregationSpec, assertValidWindowSpec, type WindowSpec } from "./window-spec.js";

function toAggregation(a: Aggregation): AggregationSpec {
  switch (a.fn) {
    case "count":
      return { fn: "count", as: a.name };
    case "sum":
    case "avg":
    case "min":
    case "max":
      return { fn: a.fn, field: a.field, as: a.name };
    case "uniq":
      return { fn: "uniq", field: a.field, as: a.name };
    case "quantiles":
      return { fn: "quantiles", field: a.field, quantiles: a.quantiles, as: a.name };
    default:
      return assertNever(a);
  }
}

export function windowSpecsOf(spec: PipelineSpec): WindowSpec[] {
  const allowedLatenessMs = parseDuration(spec.eventTime.allowedLateness, "spec.eventTime.allowedLateness");
  return (spec.windows ?? []).map((w, i) => {
    const path = `spec.windows[${i}]`;
    const common = {
      name: w.name,
      groupBy: w.groupBy,
      aggregations: w.aggregations.map(toAggregation),
      allowedLatenessMs,
    };
    switch (w.type) {
      case "tumbling":
        return assertValidWindowSpec({
          ...common,
          type: "tumbling",
          sizeMs: parseDuration(w.size, `${path}.size`),
        });
      case "sliding":
        return assertValidWindowSpec({
          ...common,
          type: "sliding",
          sizeMs: parseDuration(w.size, `${path}.size`),
          slideMs: parseDuration(w.slide, `${path}.slide`),
        });
      case "session":
        return assertValidWindowSpec({
          ...common,
          type: "session",
          gapMs: parseDuration(w.gap, `${path}.gap`),
        });
      default:
        return assertNever(w);
    }
  });
}

function assertNever(value: never): never {
  throw new Error(`unexpected variant ${JSON.stringify(value)}`);
}
