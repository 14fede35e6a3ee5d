/**
 * Turns ajv's errors for a refused request into one ErrorResponse naming the field at fault in the
 * request's own terms (`metrics[2]`, `timeRange.preset`) and what would be accepted (pure).
 *
 * ajv reports a failed union (anyOf) with an error from every branch. Two rules pick the one that
 * matters: a union discriminated by a constant property (`op`, `fn`) only keeps the errors of the
 * branch the request chose; otherwise the error deepest in the request wins (the branch that got
 * furthest), ties going to the most telling keyword.
 */
import type { ErrorResponse } from "../../api/v1alpha1/query.js";

/** An ajv error as ajv reports it with `verbose: true`. */
export interface AjvError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly message?: string;
  readonly schema?: unknown;
  readonly parentSchema?: unknown;
  readonly data?: unknown;
}

type Schema = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Schema =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** `/metrics/2/name` → `metrics[2].name`. */
export function fieldPath(instancePath: string, child?: string): string {
  const segments = instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
  if (child !== undefined) segments.push(child);
  return segments.reduce(
    (path, s) => (/^[0-9]+$/.test(s) ? `${path}[${s}]` : path === "" ? s : `${path}.${s}`),
    "",
  );
}

/** The constants a schema allows when it is a literal or a union of literals. */
function constants(schema: unknown): unknown[] | undefined {
  if (!isObject(schema)) return undefined;
  if ("const" in schema) return [schema.const];
  const branches = schema.anyOf;
  if (!Array.isArray(branches) || branches.length === 0) return undefined;
  const values = branches.map((b) => (isObject(b) && "const" in b ? [b.const] : undefined));
  return values.every((v) => v !== undefined) ? values.flat() : undefined;
}

interface Discriminated {
  readonly property: string;
  /** Per branch: the branch object and the constants of its discriminating property. */
  readonly branches: readonly { readonly schema: Schema; readonly values: readonly unknown[] }[];
}

/** A union of objects that all carry a constant-valued property of the same name. */
function discriminated(branches: unknown): Discriminated | undefined {
  if (!Array.isArray(branches) || !branches.every(isObject)) return undefined;
  const first = branches[0]?.properties;
  if (!isObject(first)) return undefined;
  for (const property of Object.keys(first)) {
    const parts = branches.map((b) => ({
      schema: b,
      values: isObject(b.properties) ? constants(b.properties[property]) : undefined,
    }));
    if (parts.every((p) => p.values !== undefined))
      return { property, branches: parts as Discriminated["branches"] };
  }
  return undefined;
}

const keywordRank: Record<string, number> = {
  additionalProperties: 5,
  required: 4,
  type: 2,
  const: 1,
  anyOf: 0,
};

function depth(error: AjvError): number {
  return error.instancePath === "" ? 0 : error.instancePath.split("/").length - 1;
}

function rank(error: AjvError): number {
  if (error.keyword === "anyOf" && constants(error.parentSchema) !== undefined) return 6;
  return keywordRank[error.keyword] ?? 3;
}

function describe(error: AjvError, location: string): ErrorResponse {
  const { keyword, params, parentSchema } = error;
  const described = isObject(parentSchema) && typeof parentSchema.description === "string";
  const hint = described ? ` (${parentSchema.description})` : "";
  if (keyword === "additionalProperties") {
    const field = fieldPath(error.instancePath, String(params.additionalProperty));
    const known =
      isObject(parentSchema) && isObject(parentSchema.properties) ? Object.keys(parentSchema.properties) : [];
    return {
      error: "UnknownField",
      message: `${field} is not a field of this ${location}; known fields here: ${known.join(", ")}`,
      field,
      allowed: known,
    };
  }
  if (keyword === "required") {
    const field = fieldPath(error.instancePath, String(params.missingProperty));
    return { error: "InvalidRequest", message: `${field} is required`, field };
  }
  const field = fieldPath(error.instancePath);
  const name = field === "" ? `the ${location}` : field;
  const allowed = constants(keyword === "const" || keyword === "anyOf" ? parentSchema : undefined);
  if (allowed !== undefined) {
    const list = allowed.map(String);
    return {
      error: "InvalidRequest",
      message: `${name} must be one of: ${list.join(", ")}`,
      field,
      allowed: list,
    };
  }
  return { error: "InvalidRequest", message: `${name} ${error.message ?? "is invalid"}${hint}`, field };
}

/** The one error to report for a refused request; `location` is ajv's context (body, params, querystring). */
export function validationErrorResponse(errors: readonly AjvError[], location: string): ErrorResponse {
  let candidates = [...errors];
  for (const union of errors) {
    if (union.keyword !== "anyOf") continue;
    const shape = discriminated(union.schema);
    if (shape === undefined) continue;
    if (!isObject(union.data)) continue; // not an object at all: no branch was chosen
    const chosen = union.data[shape.property];
    const branch = shape.branches.find((b) => b.values.includes(chosen));
    if (branch === undefined) {
      const field = fieldPath(union.instancePath, shape.property);
      const allowed = shape.branches.flatMap((b) => b.values.map(String));
      return {
        error: "InvalidRequest",
        message: `${field} must be one of: ${allowed.join(", ")}`,
        field,
        allowed,
      };
    }
    const others = new Set<unknown>();
    for (const b of shape.branches) {
      if (b === branch) continue;
      others.add(b.schema);
      if (isObject(b.schema.properties)) others.add(b.schema.properties[shape.property]);
    }
    candidates = candidates.filter((e) => e === union || !others.has(e.parentSchema));
    // The chosen branch's own errors say more than "matches no branch".
    if (candidates.some((e) => e !== union && e.instancePath.startsWith(union.instancePath)))
      candidates = candidates.filter((e) => e !== union);
  }
  const best = candidates.reduce<AjvError | undefined>((a, e) => {
    if (a === undefined) return e;
    const byDepth = depth(e) - depth(a);
    return byDepth > 0 || (byDepth === 0 && rank(e) > rank(a)) ? e : a;
  }, undefined);
  if (best === undefined) return { error: "InvalidRequest", message: `the ${location} is invalid` };
  return describe(best, location);
}
