import { describe, expect, it } from "vitest";
import {
  minimalAlertRuleSpec,
  minimalDashboardSpec,
  minimalPipelineSpec,
  minimalRollupSpec,
  valueAt,
} from "../../test/support/fixtures/api-fixtures.js";
import { alertRuleDefaults, dashboardDefaults, pipelineDefaults, rollupDefaults } from "./defaults.js";
import { renderCrd, resourceDefinitions } from "./resources.js";
import type { JsonSchema } from "./structural-schema.js";
import {
  validateAlertRuleSpec,
  validateDashboardSpec,
  validatePipelineSpec,
  validateRollupSpec,
} from "./validation.js";

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
  ["Dashboard", dashboardDefaults],
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

describe("the operator's and the runtime's validators", () => {
  it.each([
    ["Pipeline", validatePipelineSpec, minimalPipelineSpec, pipelineDefaults],
    ["Rollup", validateRollupSpec, minimalRollupSpec, rollupDefaults],
    ["AlertRule", validateAlertRuleSpec, minimalAlertRuleSpec, alertRuleDefaults],
    ["Dashboard", validateDashboardSpec, minimalDashboardSpec, dashboardDefaults],
  ] as const)("fill in the same %s defaults into a minimal spec", (_kind, validate, spec, table) => {
    const result = validate(spec);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    for (const [path, value] of Object.entries(table))
      expect(valueAt(result.value, path), path).toEqual(value);
  });
});
