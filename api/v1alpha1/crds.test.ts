import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderCrdYaml } from "./crd-yaml.js";
import { group, renderCrd, resourceDefinitions } from "./resources.js";
import type { JsonSchema } from "./structural-schema.js";

const root = resolve(import.meta.dirname, "..", "..");

/** Every schema node with its path, for properties that must hold everywhere. */
function* walk(schema: JsonSchema, path: string): Generator<[string, JsonSchema]> {
  yield [path, schema];
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  for (const [name, child] of Object.entries(properties ?? {})) yield* walk(child, `${path}.${name}`);
  if (schema.items) yield* walk(schema.items as JsonSchema, `${path}[*]`);
  if (typeof schema.additionalProperties === "object")
    yield* walk(schema.additionalProperties as JsonSchema, `${path}{*}`);
}

function openApiSchema(kind: string): JsonSchema {
  const definition = resourceDefinitions.find((d) => d.kind === kind);
  if (!definition) throw new Error(`no ${kind}`);
  const crd = renderCrd(definition) as { spec: { versions: { schema: { openAPIV3Schema: JsonSchema } }[] } };
  const version = crd.spec.versions[0];
  if (!version) throw new Error("no version");
  return version.schema.openAPIV3Schema;
}

describe.each(resourceDefinitions.map((d) => [d.kind, d] as const))("CRD %s", (kind, definition) => {
  it.each(["crds", "charts/tally/crds"])(
    "is committed in %s exactly as the typed source renders it (run `npm run generate`)",
    (dir) => {
      const committed = readFileSync(join(root, dir, `${definition.plural}.${group}.yaml`), "utf8");
      expect(committed).toBe(renderCrdYaml(definition));
    },
  );

  it("reads back under YAML 1.1, as kubectl reads it, as exactly the rendered object", () => {
    // An unquoted `off` (scaling.mode) is the boolean false in YAML 1.1: the apiserver then refused "off".
    const read = parse(renderCrdYaml(definition), { version: "1.1" }) as unknown;
    expect(read).toEqual(JSON.parse(JSON.stringify(renderCrd(definition))));
  });

  it("documents every field for kubectl explain", () => {
    const root = openApiSchema(kind);
    const undocumented = [...walk(root.properties as JsonSchema, "")]
      .filter(([path]) => path.startsWith(".spec") || path.startsWith(".status"))
      .filter(([, node]) => typeof node.description !== "string" || node.description === "")
      .map(([path]) => path);
    expect(undocumented).toEqual([]);
  });

  it("is structural: every node has a type and no anyOf, oneOf or const remains", () => {
    const root = openApiSchema(kind);
    for (const [path, node] of walk(root, "")) {
      expect(node.anyOf, path).toBeUndefined();
      expect(node.oneOf, path).toBeUndefined();
      expect(node.const, path).toBeUndefined();
      if (node["x-kubernetes-preserve-unknown-fields"] !== true) expect(node.type, path).toBeTypeOf("string");
    }
  });
});

describe("Pipeline CRD", () => {
  it("has a scale subresource driven by spec.replicas and a status selector", () => {
    const definition = resourceDefinitions.find((d) => d.kind === "Pipeline");
    expect(definition?.scale).toEqual({
      specReplicasPath: ".spec.replicas",
      statusReplicasPath: ".status.replicas",
      labelSelectorPath: ".status.selector",
    });
  });

  it("turns the window union into one object whose rules require and forbid fields per type", () => {
    const root = openApiSchema("Pipeline");
    const spec = (root.properties as Record<string, JsonSchema>).spec as JsonSchema;
    const windows = (spec.properties as Record<string, JsonSchema>).windows as JsonSchema;
    const item = windows.items as JsonSchema;
    const rules = (item["x-kubernetes-validations"] as { rule: string; message: string }[]).map(
      (r) => r.message,
    );
    expect((item.properties as Record<string, JsonSchema>).type?.enum).toEqual([
      "tumbling",
      "sliding",
      "session",
    ]);
    expect(item.required).toEqual(["type", "name", "groupBy", "aggregations"]);
    expect(rules).toContain("slide is only allowed when type is sliding");
    expect(rules).toContain("slide is required when type is sliding");
    expect(rules).toContain("gap is required when type is session");
    expect(rules).toContain("size is required when type is tumbling or sliding");
    expect(rules).toContain("slide must be positive, at most size, and divide size evenly");
  });

  it("documents a field shared by union variants per variant where its meaning differs", () => {
    const root = openApiSchema("Pipeline");
    const spec = (root.properties as Record<string, JsonSchema>).spec as JsonSchema;
    const windows = (spec.properties as Record<string, JsonSchema>).windows as JsonSchema;
    const aggregation = ((windows.items as JsonSchema).properties as Record<string, JsonSchema>)
      .aggregations as JsonSchema;
    const field = ((aggregation.items as JsonSchema).properties as Record<string, JsonSchema>)
      .field as JsonSchema;
    expect(field.description).toMatch(/fn sum, avg, min, max: .*numeric/);
    expect(field.description).toMatch(/fn uniq: .*any type \(strings included\)/);
    expect(field.description).toMatch(/fn quantiles: .*numeric/);
  });

  it("refuses a window of size or gap 0 at apply (a CEL rule on the duration)", () => {
    const yaml = renderCrdYaml(resourceDefinitions[0] as (typeof resourceDefinitions)[number]);
    const rule = /(size|gap):\n(?:\s+\S.*\n)*?\s+- rule: duration\(self\) > duration\('0s'\)/g;
    expect([...yaml.matchAll(rule)].map((m) => m[1])).toEqual(["size", "gap"]);
  });

  it("states quantile bounds the OpenAPI v3.0 way (boolean exclusive bounds)", () => {
    const yaml = renderCrdYaml(resourceDefinitions[0] as (typeof resourceDefinitions)[number]);
    expect(yaml).toMatch(/minimum: 0\n\s+exclusiveMinimum: true/);
    expect(yaml).toMatch(/maximum: 1\n\s+exclusiveMaximum: true/);
  });
});

describe("AlertRule CRD", () => {
  it("refuses label and annotation names Alertmanager refuses, with a CEL rule on the keys", () => {
    const root = openApiSchema("AlertRule");
    const spec = (root.properties as Record<string, JsonSchema>).spec as JsonSchema;
    for (const map of ["labels", "annotations"]) {
      const node = (spec.properties as Record<string, JsonSchema>)[map] as JsonSchema;
      expect(node["x-kubernetes-validations"], map).toEqual([
        {
          rule: "self.all(k, k.matches('^[A-Za-z_][A-Za-z0-9_]*$'))",
          message: "every key must match ^[A-Za-z_][A-Za-z0-9_]*$",
        },
      ]);
      expect(node.maxProperties, map).toBeTypeOf("number");
    }
  });
});
