import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { validatePipelineSemantics } from "../api/v1alpha1/validate-pipeline.js";
import {
  validateAlertRuleSpec,
  validateDashboardSpec,
  validatePipelineSpec,
  validateRollupSpec,
} from "../api/v1alpha1/validation.js";

// Every Tally object in examples/ passes the operator's own validation, so users copy working YAML.
const documents = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith(".yaml"))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(import.meta.dirname, file), "utf8")).map(
      (d) =>
        [
          file,
          d.toJS() as { kind: string; metadata: { name: string; namespace?: string }; spec: unknown },
        ] as const,
    ),
  );

describe("examples", () => {
  it.each(
    documents
      .filter(([, d]) => d.kind !== "Secret")
      .map(([file, d]) => [`${file}: ${d.kind} ${d.metadata.name}`, d] as const),
  )("%s is valid", (_label, doc) => {
    const validator = {
      Pipeline: validatePipelineSpec,
      Rollup: validateRollupSpec,
      AlertRule: validateAlertRuleSpec,
      Dashboard: validateDashboardSpec,
    }[doc.kind];
    expect(validator, `unknown kind ${doc.kind}`).toBeDefined();
    const result = validator?.(doc.spec);
    expect(result?.ok ? [] : result?.problems).toEqual([]);
    if (doc.kind === "Pipeline") {
      const pipeline = validatePipelineSpec(doc.spec);
      expect(pipeline.ok && validatePipelineSemantics(pipeline.value)).toEqual([]);
    }
  });

  // `kubectl apply -n team-a -f examples/` is refused when a manifest names another namespace
  // (kubebuilder's samples leave it out for the same reason).
  it.each(documents.map(([file, d]) => [`${file}: ${d.kind} ${d.metadata.name}`, d] as const))(
    "%s names no namespace",
    (_label, doc) => {
      expect(doc.metadata.namespace).toBeUndefined();
    },
  );
});
