import { describe, expect, it } from "vitest";
import { alertRuleDefaults, pipelineDefaults, rollupDefaults } from "./defaults.js";
import { renderCrd, resourceDefinitions } from "./resources.js";
import type { JsonSchema } from "./structural-schema.js";
import { validateAlertRuleSpec, validatePipelineSpec, validateRollupSpec } from "./validation.js";

/** Every node under the CRD's spec with its path (`[*]` for list items), as defaults.ts keys them. */
function* walk(schema: JsonSchema, path: string): Generator<[string, JsonSchema]> {
  yield [path, schema];
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  for (const [name, child] of Object.entries(properties ?? {}))
    yield* walk(child, path === "" ? name : `${path}.${name}`);
  if (schema.items) yield* walk(schema.items as JsonSchema, `${path}[*]`);
}

function specSchema(kind: string): JsonSchema {
  const definition = resourceDefinitions.find((d) => d.kind === kind);
  if (!definition) throw new Error(`no ${kind}`);
  const crd = renderCrd(definition) as {
    spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: JsonSchema } } } }[] };
  };
  const version = crd.spec.versions[0];
  if (!version) throw new Error("no version");
  return version.schema.openAPIV3Schema.properties.spec;
}

/** The defaults the apiserver applies: every defaulted node that is not an object (an object's default is its fields'). */
function crdDefaults(kind: string): Record<string, unknown> {
  return Object.fromEntries(
    [...walk(specSchema(kind), "")]
      .filter(([, node]) => node.default !== undefined && node.type !== "object")
      .map(([path, node]) => [path, node.default]),
  );
}

const tables = [
  ["Pipeline", pipelineDefaults],
  ["Rollup", rollupDefaults],
  ["AlertRule", alertRuleDefaults],
] as const;

describe.each(tables)("%s defaults", (kind, table) => {
  it("are exactly the constants in defaults.ts: no default in the CRD without one, none missing", () => {
    expect(crdDefaults(kind)).toEqual(table);
  });

  it("are stated in the description kubectl explain prints", () => {
    const undocumented = [...walk(specSchema(kind), "")]
      .filter(([, node]) => node.default !== undefined && node.type !== "object")
      .filter(([, node]) => {
        const value = typeof node.default === "string" ? node.default : JSON.stringify(node.default);
        return !String(node.description).endsWith(` Default: ${value}.`);
      })
      .map(([path]) => path);
    expect(undocumented).toEqual([]);
  });
});

/** Reads a dotted path with `[*]` meaning the first item. */
function at(value: unknown, path: string): unknown {
  let node = value;
  for (const key of path.replace(/\[\*\]/g, ".0").split(".")) node = (node as Record<string, unknown>)[key];
  return node;
}

describe("the operator's and the runtime's validators", () => {
  it("apply the same Pipeline defaults to a minimal spec", () => {
    const minimal = {
      source: { kafka: { brokers: ["k:9092"], topics: ["t"], tls: {} } },
      format: { type: "json" },
      fields: [
        { name: "id", type: "String" },
        { name: "ts", type: "DateTime64(3)" },
      ],
      eventTime: { field: "ts" },
      dedup: { field: "id" },
      enrich: [{ source: "redisHash", name: "u", keyField: "id", keyPrefix: "u:", fields: ["id"] }],
      windows: [{ type: "tumbling", name: "w", size: "1m", aggregations: [{ fn: "count", name: "n" }] }],
      sink: {
        clickhouse: { connectionSecretRef: { name: "ch" }, table: "events" },
        redis: { connectionSecretRef: { name: "r" } },
      },
    };
    const result = validatePipelineSpec(minimal);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    for (const [path, value] of Object.entries(pipelineDefaults))
      expect(at(result.value, path), path).toEqual(value);
  });

  it("apply the same Rollup and AlertRule defaults", () => {
    const rollup = validateRollupSpec({
      source: { kind: "Pipeline", name: "p" },
      granularity: "1h",
      metrics: [{ fn: "count", name: "n" }],
    });
    if (!rollup.ok) throw new Error(JSON.stringify(rollup.problems));
    for (const [path, value] of Object.entries(rollupDefaults))
      expect(at(rollup.value, path), path).toEqual(value);
    const alert = validateAlertRuleSpec({
      query: { source: { kind: "Rollup", name: "r" }, metric: "n" },
      condition: { type: "threshold", operator: "gt", value: 1 },
      notify: [{ type: "alertmanager", name: "am", url: "http://am:9093" }],
    });
    if (!alert.ok) throw new Error(JSON.stringify(alert.problems));
    for (const [path, value] of Object.entries(alertRuleDefaults))
      expect(at(alert.value, path), path).toEqual(value);
  });
});
