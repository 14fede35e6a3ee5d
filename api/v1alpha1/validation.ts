/**
 * ajv validators compiled once from the same TypeBox source as the CRDs. The operator re-validates
 * every object with them (the apiserver may run an older CRD, or a user may bypass it), and the
 * runtime validates a pipeline file it is started with. Defaults are applied as the apiserver
 * applies them.
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { Ajv, type ErrorObject } from "ajv";
import addFormatsModule from "ajv-formats";
import { AlertRuleSpec } from "./alert-rule.js";
import { DashboardPanel, DashboardSpec } from "./dashboard.js";
import { PipelineSpec } from "./pipeline.js";
import { QueryFilter, QueryRequest } from "./query.js";
import { RollupSpec } from "./rollup.js";
import { type JsonSchema, renderValidationSchema } from "./structural-schema.js";

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const ajv = addFormats(new Ajv({ allErrors: true, useDefaults: true, discriminator: true, strict: false }));
// A Dashboard panel's query filter is a recursive tree the CRD keeps as written; its `$ref` resolves here.
ajv.addSchema(renderValidationSchema(QueryFilter as unknown as JsonSchema, "filter"));

/** One reason a spec was refused: where, and what was expected there. */
export interface SpecProblem {
  readonly path: string;
  readonly message: string;
}

type SpecValidation<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly SpecProblem[] };

function describe(error: ErrorObject, root: string): SpecProblem | undefined {
  const path = root + error.instancePath.replace(/\/(\d+)/g, "[$1]").replace(/\//g, ".");
  // A map key refused by propertyNames: its own error names the key; the summary adds nothing.
  if (error.keyword === "propertyNames") return undefined;
  if (error.propertyName !== undefined)
    return { path, message: `key "${error.propertyName}" ${error.message ?? error.keyword}` };
  switch (error.keyword) {
    case "additionalProperties":
      return { path: `${path}.${String(error.params.additionalProperty)}`, message: "unknown field" };
    case "required":
      return {
        path: `${path}.${String(error.params.missingProperty)}`,
        message: "required field is missing",
      };
    case "discriminator":
      // The union's tag names no variant (or is missing): say so at the tag, not at the object.
      return {
        path: `${path}.${String(error.params.tag)}`,
        message:
          error.params.tagValue === undefined
            ? "required field is missing"
            : `${JSON.stringify(error.params.tagValue)} is not one of the values it takes`,
      };
    case "false schema":
      // A field of another variant of a union told apart by its fields (see structural-schema.ts).
      return { path, message: "not allowed together with the fields given" };
    case "enum":
      return {
        path,
        message: `must be one of ${(error.params.allowedValues as unknown[]).map(String).join(", ")}`,
      };
    default:
      return { path, message: error.message ?? error.keyword };
  }
}

function compile<S extends TSchema>(
  schema: S,
  root: string,
): (input: unknown, at?: string) => SpecValidation<Static<S>> {
  const validate = ajv.compile(renderValidationSchema(schema as unknown as JsonSchema, root));
  return (input, at = root) => {
    // Validation applies defaults in place; work on a copy so the caller's object is untouched.
    const value: unknown = structuredClone(input);
    if (validate(value)) return { ok: true, value: value as Static<S> };
    const unique = new Map<string, SpecProblem>();
    for (const problem of (validate.errors ?? []).map((e) => describe(e, at))) {
      if (problem !== undefined) unique.set(`${problem.path}: ${problem.message}`, problem);
    }
    return { ok: false, problems: [...unique.values()] };
  };
}

export const validatePipelineSpec = compile(PipelineSpec, "spec");
export const validateRollupSpec = compile(RollupSpec, "spec");
export const validateAlertRuleSpec = compile(AlertRuleSpec, "spec");
export const validateDashboardSpec = compile(DashboardSpec, "spec");
/** One panel, reported at `at` (e.g. spec.panels[2]): a bad panel must not hide the others. */
export const validateDashboardPanel = compile(DashboardPanel, "spec.panels[*]");

/** The live stream's `?query=` (defaults applied, as POST /query applies them) and `?filter=`. */
export const validateQueryRequest = compile(QueryRequest, "query");
const filterHolder = compile(Type.Object({ filter: Type.Ref(QueryFilter) }), "");
/** A QueryFilter on its own (the schema is registered once above, so it is validated inside a holder). */
export function validateQueryFilter(input: unknown): SpecValidation<QueryFilter> {
  const checked = filterHolder({ filter: input });
  if (checked.ok) return { ok: true, value: checked.value.filter };
  return { ok: false, problems: checked.problems.map((p) => ({ ...p, path: p.path.replace(/^\./, "") })) };
}

export function formatProblems(problems: readonly SpecProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join("; ");
}
