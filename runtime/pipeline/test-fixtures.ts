/** Plans for unit tests: the example clickstream pipeline with overrides (tests run what users apply). */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import type { PipelineSpec } from "../../operator/api/v1alpha1/pipeline.js";
import type { RuntimeConfig } from "../../operator/pipeline/render-pipeline-objects.js";
import { compilePipelinePlan, type PipelinePlan } from "./pipeline-plan.js";

const example = resolve(import.meta.dirname, "..", "..", "examples", "clickstream-pipeline.yaml");

function exampleConfig(edit: (spec: PipelineSpec) => void = () => {}): RuntimeConfig {
  const doc = parse(readFileSync(example, "utf8")) as { spec: PipelineSpec };
  const spec = structuredClone(doc.spec);
  edit(spec);
  return {
    apiVersion: "tally.dev/v1alpha1",
    kind: "Pipeline",
    metadata: { namespace: "default", name: "clickstream" },
    spec,
    consumerGroup: "tally.default.clickstream",
  };
}

export function examplePlan(edit: (spec: PipelineSpec) => void = () => {}): PipelinePlan {
  return compilePipelinePlan(exampleConfig(edit), () => {
    throw new Error("the example pipeline has no schema references");
  });
}
