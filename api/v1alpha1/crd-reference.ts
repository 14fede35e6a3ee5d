/**
 * The field reference of every kind (docs/crd-reference.md), rendered from the same structural schemas the
 * CRDs are (pure): one row per field with its type, whether it is required, its default, its constraints and
 * its description, so the reference cannot say something `kubectl explain` does not.
 */
import { type ResourceDefinition, renderCrd } from "./resources.js";

interface FieldSchema {
  type?: string;
  description?: string;
  properties?: Record<string, FieldSchema>;
  items?: FieldSchema;
  additionalProperties?: FieldSchema | boolean;
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-validations"?: { rule: string; message?: string }[];
}

interface FieldRow {
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  readonly details: string;
  readonly description: string;
}

function typeOf(schema: FieldSchema): string {
  if (schema.type === "array") return `[]${schema.items === undefined ? "any" : typeOf(schema.items)}`;
  if (schema.type === "object" && typeof schema.additionalProperties === "object")
    return `map[string]${typeOf(schema.additionalProperties)}`;
  if (schema["x-kubernetes-preserve-unknown-fields"] === true && schema.type === undefined) return "any";
  return schema.type ?? "any";
}

function constraints(schema: FieldSchema): string[] {
  const out: string[] = [];
  if (schema.default !== undefined) out.push(`default \`${JSON.stringify(schema.default)}\``);
  if (schema.enum !== undefined) out.push(`one of ${schema.enum.map((v) => `\`${String(v)}\``).join(", ")}`);
  const range = (name: string, min: number | undefined, max: number | undefined) => {
    if (min !== undefined && max !== undefined) out.push(`${name} ${min}–${max}`);
    else if (min !== undefined) out.push(`${name} ≥ ${min}`);
    else if (max !== undefined) out.push(`${name} ≤ ${max}`);
  };
  range("value", schema.minimum, schema.maximum);
  range("length", schema.minLength, schema.maxLength);
  range("items", schema.minItems, schema.maxItems);
  if (schema.format !== undefined) out.push(`format ${schema.format}`);
  if (schema.pattern !== undefined) out.push(`pattern \`${schema.pattern}\``);
  for (const v of schema["x-kubernetes-validations"] ?? []) out.push(`rule: ${v.message ?? v.rule}`);
  return out;
}

function rows(schema: FieldSchema, path: string, required: boolean): FieldRow[] {
  const own: FieldRow = {
    path,
    type: typeOf(schema),
    required,
    details: constraints(schema).join("; "),
    description: (schema.description ?? "").replace(/\s+/g, " ").trim(),
  };
  const children = schema.type === "array" && schema.items !== undefined ? schema.items : schema;
  const prefix = schema.type === "array" ? `${path}[]` : path;
  const nested = Object.entries(children.properties ?? {}).flatMap(([name, child]) =>
    rows(child, `${prefix}.${name}`, (children.required ?? []).includes(name)),
  );
  return [own, ...nested];
}

const cell = (text: string) => text.replace(/\|/g, "\\|");

function kindSection(definition: ResourceDefinition): string {
  const crd = renderCrd(definition) as {
    spec: { versions: { schema: { openAPIV3Schema: { properties: Record<string, FieldSchema> } } }[] };
  };
  const properties = crd.spec.versions[0]?.schema.openAPIV3Schema.properties ?? {};
  const table = (root: "spec" | "status") => {
    const schema = properties[root];
    if (schema === undefined) return "";
    const lines = rows(schema, root, root === "spec")
      .slice(1)
      .map(
        (r) =>
          `| \`${r.path}\` | ${cell(r.type)} | ${r.required ? "yes" : ""} | ${cell(r.description)} | ${cell(r.details)} |`,
      );
    return [
      "| field | type | required | description | default and constraints |",
      "| --- | --- | --- | --- | --- |",
      ...lines,
    ].join("\n");
  };
  const columns = definition.printerColumns.map((c) => `\`${c.name}\``).join(", ");
  return [
    `## ${definition.kind}`,
    "",
    `${definition.description} (\`kubectl get ${definition.plural}\`; short names ${definition.shortNames.map((s) => `\`${s}\``).join(", ")}; columns ${columns}.)`,
    "",
    "### spec",
    "",
    table("spec"),
    "",
    "### status",
    "",
    table("status"),
    "",
  ].join("\n");
}

export function renderCrdReference(definitions: readonly ResourceDefinition[]): string {
  return [
    "# Custom resource reference",
    "",
    "Generated from `api/v1alpha1` by `npm run generate` (the same schemas as `crds/`); do not edit.",
    "`kubectl explain <kind>.spec.<field>` shows the same descriptions on a cluster.",
    "",
    ...definitions.map(kindSection),
  ].join("\n");
}
