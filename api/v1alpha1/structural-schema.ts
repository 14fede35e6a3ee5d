/**
 * Turns the TypeBox schemas into the two forms they are consumed in:
 * - `renderStructuralSchema`: a Kubernetes structural schema for the CRD. Kubernetes allows no
 *   `anyOf` that declares types, so a discriminated union becomes one object holding every
 *   variant's fields, an enum discriminator, and generated CEL rules that require and forbid
 *   fields per variant — the apiserver then enforces exactly what the TypeScript union says.
 *   A union of objects told apart by which fields they have (`{preset}` or `{from, to}`) becomes
 *   one object with a CEL rule admitting exactly one variant's fields. What a structural schema
 *   cannot say at all — a `$ref` (the query language's recursive filter tree) and a union of
 *   different JSON types (a metric name or an inline aggregation) — is kept as written
 *   (`x-kubernetes-preserve-unknown-fields`) and left to the ajv validators below.
 * - `renderValidationSchema`: a JSON Schema for ajv (operator and runtime), with the unions as
 *   `oneOf` + `discriminator` (so errors name the variant's field), unknown fields refused, and
 *   defaults applied as the apiserver applies them. A `$ref` stays one: the referenced schema is
 *   registered with ajv (validation.ts).
 */
import type { CelRule } from "./schema-kit.js";

export type JsonSchema = { [key: string]: unknown };

/** Thrown when a schema uses a construct Kubernetes cannot express; names the path. */
class SchemaShapeError extends Error {
  override readonly name = "SchemaShapeError";
}

const passThroughKeys = [
  "description",
  "default",
  "pattern",
  "minLength",
  "maxLength",
  "format",
  "minItems",
  "maxItems",
  "minimum",
  "maximum",
  "minProperties",
  "maxProperties",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
] as const;

function isRecord(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asSchemas(value: unknown, path: string): JsonSchema[] {
  if (!Array.isArray(value) || !value.every(isRecord))
    throw new SchemaShapeError(`${path}: expected a list of schemas`);
  return value;
}

/** The literal values a schema admits when it is a const or a union of consts, else undefined. */
function literalValues(schema: JsonSchema): (string | number | boolean)[] | undefined {
  if ("const" in schema) return [schema.const as string | number | boolean];
  if (Array.isArray(schema.anyOf) && schema.anyOf.every((s) => isRecord(s) && "const" in s)) {
    return schema.anyOf.map((s) => (s as JsonSchema).const as string | number | boolean);
  }
  return undefined;
}

function celList(values: readonly (string | number | boolean)[]): string {
  return `[${values.map((v) => (typeof v === "string" ? `'${v}'` : String(v))).join(", ")}]`;
}

interface Union {
  readonly discriminator: string;
  readonly variants: readonly {
    readonly values: (string | number | boolean)[];
    readonly schema: JsonSchema;
  }[];
}

/** Recognises a union of objects sharing one property whose values tell the variants apart. */
function asDiscriminatedUnion(variants: readonly JsonSchema[], path: string): Union | undefined {
  const first = variants[0];
  if (first === undefined) return undefined;
  const candidates = Object.keys(first.properties as JsonSchema);
  for (const name of candidates) {
    const per = variants.map((v) => {
      const property = (v.properties as JsonSchema)[name];
      return isRecord(property) ? literalValues(property) : undefined;
    });
    if (per.every((values) => values !== undefined)) {
      const all = per.flat();
      if (new Set(all).size !== all.length) {
        throw new SchemaShapeError(`${path}: discriminator "${name}" repeats a value across variants`);
      }
      return {
        discriminator: name,
        variants: variants.map((schema, i) => ({ values: per[i] ?? [], schema })),
      };
    }
  }
  return undefined;
}

/** A variant of a union whose objects are told apart by the fields they have. */
interface FieldSetVariant {
  readonly fields: readonly string[];
  readonly required: readonly string[];
  readonly schema: JsonSchema;
}

type UnionShape =
  | { readonly kind: "discriminated"; readonly union: Union }
  | { readonly kind: "fieldSets"; readonly variants: readonly FieldSetVariant[] }
  | { readonly kind: "mixedTypes" };

/**
 * How a union (not of literals) can be told apart: by a discriminator; by its variants' disjoint
 * field sets, each with a required field (so a value matches at most one); or, when not every
 * variant is an object, only by the JSON type of the value.
 */
function unionShape(variants: readonly JsonSchema[], path: string): UnionShape {
  if (!variants.every((v) => v.type === "object" && isRecord(v.properties))) return { kind: "mixedTypes" };
  const union = asDiscriminatedUnion(variants, path);
  if (union !== undefined) return { kind: "discriminated", union };
  const fieldSets = variants.map((schema) => ({
    fields: Object.keys(schema.properties as JsonSchema),
    required: Array.isArray(schema.required) ? (schema.required as string[]) : [],
    schema,
  }));
  const all = fieldSets.flatMap((v) => v.fields);
  if (new Set(all).size !== all.length || fieldSets.some((v) => v.required.length === 0)) {
    throw new SchemaShapeError(
      `${path}: a union of objects needs a discriminator property with literal values, or variants with disjoint fields each requiring one`,
    );
  }
  for (const variant of fieldSets) {
    for (const name of variant.fields) {
      // The apiserver would default the field whatever the variant, which the shape rule then refuses.
      if ((variant.schema.properties as Record<string, JsonSchema>)[name]?.default !== undefined)
        throw new SchemaShapeError(`${path}.${name}: a field of only some variants cannot have a default`);
    }
  }
  return { kind: "fieldSets", variants: fieldSets };
}

/** The CEL condition "the object has exactly this variant's fields" (required present, others' absent). */
function variantMatches(variant: FieldSetVariant, all: readonly FieldSetVariant[]): string {
  const others = all.filter((v) => v !== variant).flatMap((v) => v.fields);
  return [...variant.required.map((f) => `has(self.${f})`), ...others.map((f) => `!has(self.${f})`)].join(
    " && ",
  );
}

/** A union's description, or its variants' (kubectl explain shows nothing else for the field). */
function unionDescription(schema: JsonSchema, variants: readonly JsonSchema[]): string | undefined {
  if (typeof schema.description === "string") return schema.description;
  const texts = variants.map((v) => v.description).filter((d): d is string => typeof d === "string");
  return texts.length > 0 ? `Either: ${texts.join(" Or: ")}` : undefined;
}

function withoutDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDescriptions);
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== "description")
      .map(([key, child]) => [key, withoutDescriptions(child)]),
  );
}

/**
 * An object default with its fields' own defaults filled in. Kubernetes checks a default against
 * the CEL rules as written, before nested defaulting, so `default: {}` must be spelled out.
 */
function materializeDefault(schema: JsonSchema): unknown {
  if (schema.type !== "object" || !isRecord(schema.properties)) return schema.default;
  const filled: JsonSchema = {};
  for (const [name, child] of Object.entries(schema.properties)) {
    if (!isRecord(child) || child.default === undefined) continue;
    filled[name] = child.type === "object" ? materializeDefault(child) : child.default;
  }
  return { ...filled, ...(isRecord(schema.default) ? schema.default : {}) };
}

function copyKeys(from: JsonSchema, to: JsonSchema): void {
  for (const key of passThroughKeys) if (key in from) to[key] = from[key];
}

/**
 * `kubectl explain` prints a field's description but never its `default`, so a scalar or list default
 * is written into the description too, from the one value the schema holds. An object's default is
 * made of its fields' defaults, which their own descriptions state.
 */
function documentDefault(schema: JsonSchema): void {
  const value = schema.default;
  if (value === undefined || isRecord(value) || typeof schema.description !== "string") return;
  const text = typeof value === "string" ? value : JSON.stringify(value);
  schema.description = `${schema.description} Default: ${text}.`;
}

// ---- Kubernetes structural schema -------------------------------------------------------------

export function renderStructuralSchema(schema: JsonSchema, path = "spec"): JsonSchema {
  if (typeof schema.$ref === "string") return keptAsWritten(schema.description, path);
  if (Array.isArray(schema.anyOf)) return structuralUnion(schema, path);
  const out: JsonSchema = {};
  if ("const" in schema) {
    out.type = typeof schema.const === "number" ? "number" : typeof schema.const;
    out.enum = [schema.const];
  } else if (schema.type !== undefined) {
    out.type = schema.type;
  }
  copyKeys(schema, out);
  documentDefault(out);
  if (schema.type === "object" && isRecord(schema.default)) out.default = materializeDefault(schema);
  // OpenAPI v3.0 (what CRDs speak) has boolean exclusive bounds; JSON Schema 2019+ has numeric ones.
  if (typeof schema.exclusiveMinimum === "number") {
    out.minimum = schema.exclusiveMinimum;
    out.exclusiveMinimum = true;
  }
  if (typeof schema.exclusiveMaximum === "number") {
    out.maximum = schema.exclusiveMaximum;
    out.exclusiveMaximum = true;
  }
  if (schema.type === "object" && isRecord(schema.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([name, child]) => {
        if (!isRecord(child)) throw new SchemaShapeError(`${path}.${name}: not a schema`);
        return [name, renderStructuralSchema(child, `${path}.${name}`)];
      }),
    );
    // A defaulted field is never missing once the apiserver has defaulted it, and Kubernetes
    // validates a default object against `required` before filling the defaults nested in it.
    const required = (Array.isArray(schema.required) ? (schema.required as string[]) : []).filter((name) => {
      const child = (schema.properties as JsonSchema)[name];
      return !(isRecord(child) && child.default !== undefined);
    });
    if (required.length > 0) out.required = required;
  }
  const rules: CelRule[] = Array.isArray(schema["x-kubernetes-validations"])
    ? [...(schema["x-kubernetes-validations"] as CelRule[])]
    : [];
  if (schema.type === "object" && isRecord(schema.patternProperties)) {
    // TypeBox's Record: its one key pattern becomes a CEL rule (structural schemas have no
    // propertyNames), its value schema additionalProperties.
    const [[keyPattern, value] = []] = Object.entries(schema.patternProperties);
    if (!isRecord(value)) throw new SchemaShapeError(`${path}: record without a value schema`);
    out.additionalProperties = renderStructuralSchema(value, `${path}[*]`);
    if (keyPattern !== undefined && keyPattern !== anyKeyPattern) {
      rules.push({
        rule: `self.all(k, k.matches(${celString(keyPattern)}))`,
        message: `every key must match ${keyPattern}`,
      });
    }
  }
  if (schema.type === "array") {
    if (!isRecord(schema.items)) throw new SchemaShapeError(`${path}: array without items`);
    out.items = renderStructuralSchema(schema.items, `${path}[*]`);
  }
  if (rules.length > 0) out["x-kubernetes-validations"] = rules;
  return out;
}

/** The key pattern of a TypeBox Record whose keys are any string. */
const anyKeyPattern = "^(.*)$";

function celString(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/**
 * A value a structural schema cannot describe (a `$ref`, which may recurse; a value of one of several
 * JSON types): the apiserver keeps it as written and the operator's ajv validator checks it.
 */
function keptAsWritten(description: unknown, path: string): JsonSchema {
  if (typeof description !== "string")
    throw new SchemaShapeError(`${path}: a field kept as written needs a description for kubectl explain`);
  return { description, "x-kubernetes-preserve-unknown-fields": true };
}

function structuralUnion(schema: JsonSchema, path: string): JsonSchema {
  const variants = asSchemas(schema.anyOf, path);
  const literals = literalValues(schema);
  if (literals !== undefined) {
    const out: JsonSchema = {
      type: typeof literals[0] === "number" ? "number" : typeof literals[0],
      enum: literals,
    };
    copyKeys(schema, out);
    documentDefault(out);
    return out;
  }
  const shape = unionShape(variants, path);
  if (shape.kind === "mixedTypes") return keptAsWritten(unionDescription(schema, variants), path);
  if (shape.kind === "fieldSets") return structuralFieldSets(schema, shape.variants, path);
  const union = shape.union;
  const d = union.discriminator;
  // A field shared by variants is documented once; where the variants describe it differently (an
  // aggregation's `field` means something else per `fn`), each variant's description is kept.
  const descriptions = new Map<string, { values: (string | number | boolean)[]; text: string }[]>();
  const properties: JsonSchema = {};
  const presentIn = new Map<string, (string | number | boolean)[]>();
  const requiredIn = new Map<string, (string | number | boolean)[]>();
  const rules: CelRule[] = [];
  for (const { values, schema: variant } of union.variants) {
    const variantProperties = variant.properties as JsonSchema;
    const required = new Set(Array.isArray(variant.required) ? (variant.required as string[]) : []);
    for (const [name, child] of Object.entries(variantProperties)) {
      if (name === d || !isRecord(child)) continue;
      const rendered = renderStructuralSchema(child, `${path}.${name}`);
      const existing = properties[name];
      if (existing !== undefined) {
        // Descriptions may differ per variant (the first one is documented); shapes must match.
        if (JSON.stringify(withoutDescriptions(existing)) !== JSON.stringify(withoutDescriptions(rendered))) {
          throw new SchemaShapeError(`${path}.${name}: variants give the field different shapes`);
        }
      } else {
        properties[name] = rendered;
      }
      if (typeof rendered.description === "string") {
        const known = descriptions.get(name) ?? [];
        const same = known.find((k) => k.text === rendered.description);
        if (same) same.values.push(...values);
        else known.push({ values: [...values], text: rendered.description });
        descriptions.set(name, known);
      }
      presentIn.set(name, [...(presentIn.get(name) ?? []), ...values]);
      if (required.has(name)) requiredIn.set(name, [...(requiredIn.get(name) ?? []), ...values]);
    }
    const guard =
      values.length === 1
        ? `self.${d} == ${celList(values).slice(1, -1)}`
        : `self.${d} in ${celList(values)}`;
    const variantRules = variant["x-kubernetes-validations"];
    if (Array.isArray(variantRules)) {
      for (const rule of variantRules as CelRule[])
        rules.push({ ...rule, rule: `!(${guard}) || (${rule.rule})` });
    }
  }
  for (const [name, texts] of descriptions) {
    if (texts.length > 1) {
      (properties[name] as JsonSchema).description = texts
        .map(({ values, text }) => `${d} ${values.join(", ")}: ${text}`)
        .join(" ");
    }
  }
  const allValues = union.variants.flatMap((v) => v.values);
  const discriminatorDescriptions = union.variants
    .map((v) => (v.schema.properties as JsonSchema)[d])
    .map((p) => (isRecord(p) && typeof p.description === "string" ? p.description : undefined));
  properties[d] = {
    type: typeof allValues[0] === "number" ? "number" : "string",
    enum: allValues,
    description:
      `One of ${allValues.join(", ")}. ${discriminatorDescriptions.filter(Boolean).join(" ")}`.trim(),
  };
  const everywhere = new Set(allValues);
  for (const [name, values] of presentIn) {
    if (values.length < everywhere.size) {
      // The apiserver defaults a field whatever the variant, which would then break the rule below.
      if ((properties[name] as JsonSchema).default !== undefined) {
        throw new SchemaShapeError(`${path}.${name}: a field of only some variants cannot have a default`);
      }
      rules.push({
        rule: `!has(self.${name}) || self.${d} in ${celList(values)}`,
        message: `${name} is only allowed when ${d} is ${values.join(" or ")}`,
        fieldPath: `.${name}`,
        reason: "FieldValueForbidden",
      });
    }
  }
  const required: string[] = [d];
  for (const [name, values] of requiredIn) {
    if (values.length === everywhere.size) {
      required.push(name);
    } else {
      rules.push({
        rule: `!(self.${d} in ${celList(values)}) || has(self.${name})`,
        message: `${name} is required when ${d} is ${values.join(" or ")}`,
        fieldPath: `.${name}`,
        reason: "FieldValueRequired",
      });
    }
  }
  const out: JsonSchema = { type: "object" };
  copyKeys(schema, out);
  out.properties = properties;
  out.required = required;
  if (rules.length > 0) out["x-kubernetes-validations"] = rules;
  return out;
}

/** One object with every variant's fields and a rule admitting exactly one variant's. */
function structuralFieldSets(
  schema: JsonSchema,
  variants: readonly FieldSetVariant[],
  path: string,
): JsonSchema {
  const properties: JsonSchema = {};
  const rules: CelRule[] = [];
  for (const variant of variants) {
    for (const [name, child] of Object.entries(variant.schema.properties as JsonSchema)) {
      if (!isRecord(child)) throw new SchemaShapeError(`${path}.${name}: not a schema`);
      properties[name] = renderStructuralSchema(child, `${path}.${name}`);
    }
    const variantRules = variant.schema["x-kubernetes-validations"];
    if (Array.isArray(variantRules)) {
      const guard = variantMatches(variant, variants);
      for (const rule of variantRules as CelRule[])
        rules.push({ ...rule, rule: `!(${guard}) || (${rule.rule})` });
    }
  }
  rules.unshift({
    rule: variants.map((v) => `(${variantMatches(v, variants)})`).join(" || "),
    message: `set exactly one of: ${variants.map((v) => v.required.join(" and ")).join(" | ")}`,
  });
  const out: JsonSchema = { type: "object" };
  copyKeys(schema, out);
  out.properties = properties;
  out["x-kubernetes-validations"] = rules;
  return out;
}

// ---- ajv validation schema --------------------------------------------------------------------

export function renderValidationSchema(schema: JsonSchema, path = "spec"): JsonSchema {
  if (Array.isArray(schema.anyOf)) {
    const variants = asSchemas(schema.anyOf, path);
    const literals = literalValues(schema);
    if (literals !== undefined) {
      const out: JsonSchema = { enum: literals };
      copyKeys(schema, out);
      return out;
    }
    const shape = unionShape(variants, path);
    const out: JsonSchema =
      shape.kind === "mixedTypes"
        ? { anyOf: variants.map((v) => renderValidationSchema(v, path)) }
        : shape.kind === "fieldSets"
          ? validationFieldSets(shape.variants, path)
          : {
              type: "object",
              discriminator: { propertyName: shape.union.discriminator },
              required: [shape.union.discriminator],
              oneOf: shape.union.variants.map(({ schema: v }) => renderValidationSchema(v, path)),
            };
    copyKeys(schema, out);
    // A recursive schema is registered with ajv under its $id; its `$ref`s point there.
    if (typeof schema.$id === "string") out.$id = schema.$id;
    return out;
  }
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (
      key === "x-kubernetes-validations" ||
      key.startsWith("x-kubernetes-list") ||
      key === "x-kubernetes-map-type"
    ) {
      continue;
    }
    out[key] = value;
  }
  if (literalValues(schema) !== undefined && "const" in schema) {
    out.enum = [schema.const];
    delete out.const;
  }
  if (schema.type === "object" && isRecord(schema.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([name, child]) => [
        name,
        isRecord(child) ? renderValidationSchema(child, `${path}.${name}`) : child,
      ]),
    );
    if (schema["x-kubernetes-preserve-unknown-fields"] !== true && !("patternProperties" in schema)) {
      out.additionalProperties = false;
    }
  }
  if (schema.type === "object" && isRecord(schema.patternProperties)) {
    out.patternProperties = Object.fromEntries(
      Object.entries(schema.patternProperties).map(([k, v]) => [
        k,
        isRecord(v) ? renderValidationSchema(v, `${path}[*]`) : v,
      ]),
    );
    // A key matching no pattern is refused by name (propertyNames), not silently kept.
    const [keyPattern] = Object.keys(schema.patternProperties);
    if (keyPattern !== undefined && keyPattern !== anyKeyPattern) out.propertyNames = { pattern: keyPattern };
  }
  if (schema.type === "array" && isRecord(schema.items))
    out.items = renderValidationSchema(schema.items, `${path}[*]`);
  return out;
}

/**
 * One object with every variant's fields (so ajv applies their nested defaults, which it skips inside
 * anyOf and oneOf) and a oneOf of the field sets alone: a variant's required fields, no other's.
 */
function validationFieldSets(variants: readonly FieldSetVariant[], path: string): JsonSchema {
  const properties: JsonSchema = {};
  for (const variant of variants) {
    for (const [name, child] of Object.entries(variant.schema.properties as JsonSchema))
      properties[name] = isRecord(child) ? renderValidationSchema(child, `${path}.${name}`) : child;
  }
  return {
    type: "object",
    properties,
    additionalProperties: false,
    oneOf: variants.map((variant) => ({
      required: [...variant.required],
      properties: Object.fromEntries(
        variants.filter((v) => v !== variant).flatMap((v) => v.fields.map((f) => [f, false])),
      ),
    })),
  };
}
