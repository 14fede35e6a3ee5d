/**
 * Inputs for the catalogue's and the gateway router's unit tests: the example manifests as the apiserver
 * holds them once the operator has made them Ready (serving tables in the status), and small hand-made
 * Pipelines and Rollups (filtered, cascaded, broken, not ready).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import type { PipelineObject, RollupObject } from "../../../api/v1alpha1/objects.js";
import { rollupTableName } from "../../clickhouse/rollup-ddl.js";
import { buildCatalogue, type NamespaceCatalogue } from "../source-catalogue.js";

export const namespace = "shop";

const examples = resolve(import.meta.dirname, "..", "..", "..", "examples");

function exampleDocuments(file: string): { metadata: { name: string }; spec: Record<string, unknown> }[] {
  return parseAllDocuments(readFileSync(resolve(examples, file), "utf8")).map(
    (doc) => doc.toJS() as { metadata: { name: string }; spec: Record<string, unknown> },
  );
}

function readyStatus(ready: true | string) {
  return {
    conditions: [
      ready === true
        ? { type: "Ready", status: "True" as const, reason: "Ready", message: "", lastTransitionTime: "" }
        : {
            type: "Ready",
            status: "False" as const,
            reason: "Progressing",
            message: ready,
            lastTransitionTime: "",
          },
    ],
  };
}

/** A Pipeline object; `edit` changes the example spec (a plain object: it is validated by the catalogue). */
export function pipelineObject(
  name = "clickstream",
  edit: (spec: Record<string, unknown>) => void = () => {},
  ready: true | string = true,
): PipelineObject {
  const [doc] = exampleDocuments("clickstream-pipeline.yaml");
  if (doc === undefined) throw new Error("examples/clickstream-pipeline.yaml is empty");
  edit(doc.spec);
  return {
    apiVersion: "tally.dev/v1alpha1",
    kind: "Pipeline",
    metadata: { name, namespace },
    spec: doc.spec,
    status: readyStatus(ready),
  };
}

/** A Rollup object with the status the operator writes: Ready with a serving table, or not (yet). */
export function rollupObject(
  name: string,
  spec: unknown,
  state: { readonly ready?: true | string; readonly table?: boolean } = {},
): RollupObject {
  const table = state.table ?? true;
  return {
    apiVersion: "tally.dev/v1alpha1",
    kind: "Rollup",
    metadata: { name, namespace },
    spec,
    status: {
      ...readyStatus(state.ready ?? true),
      ...(table
        ? { database: "default", table: rollupTableName(namespace, name, 1), servingVersion: 1 }
        : {}),
    },
  };
}

/** The example rollups (minute → hour → day), Ready, reading `pipeline`. */
export function exampleRollupObjects(pipeline = "clickstream"): RollupObject[] {
  return exampleDocuments("clickstream-rollups.yaml").map((doc) => {
    const source = doc.spec.source as { kind: string; name: string };
    if (source.kind === "Pipeline") source.name = pipeline;
    return rollupObject(doc.metadata.name, doc.spec);
  });
}

/** The example pipeline and its three rollups, plus any extra objects. */
export function exampleCatalogue(
  extra: { pipelines?: readonly PipelineObject[]; rollups?: readonly RollupObject[] } = {},
): NamespaceCatalogue {
  return buildCatalogue(
    namespace,
    [pipelineObject(), ...(extra.pipelines ?? [])],
    [...exampleRollupObjects(), ...(extra.rollups ?? [])],
  );
}

/** A minimal Rollup spec of the example pipeline; `spec` overrides its parts. */
export function rollupSpec(spec: Record<string, unknown>): Record<string, unknown> {
  return {
    source: { kind: "Pipeline", name: "clickstream" },
    granularity: "1h",
    dimensions: ["type"],
    metrics: [{ fn: "count", name: "events" }],
    ...spec,
  };
}
