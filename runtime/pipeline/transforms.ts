/**
 * The Pipeline's `transforms`: CEL filters and computed fields, compiled once, applied in order to the
 * event row (`event` in CEL is the row of declared fields, values as decode/row.ts describes them, so an
 * expression sees the same thing whether the event is live or rebuilt from the raw table).
 */
import { isCelUint } from "@bufbuild/cel";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { type CelResultValue, compileCel } from "../../lib/cel/compile-cel.js";
import { DecodeFailure } from "../decode/decode-failure.js";
import type { FieldMapper } from "../decode/field-mapping.js";
import type { Row } from "../decode/row.js";
import { compileFastFilter, type FastFilter } from "./cel-fast-path.js";

export class TransformCompileError extends Error {
  override readonly name = "TransformCompileError";
}

type TransformOutcome =
  | { readonly kind: "kept" }
  | { readonly kind: "filtered"; readonly step: string }
  | { readonly kind: "failed"; readonly failure: DecodeFailure };

interface CompiledStep {
  readonly name: string;
  readonly evaluate: (event: Record<string, unknown>) => CelResultValue;
  /** Filters only: answers without the interpreter when it can (see cel-fast-path.ts). */
  readonly fast: FastFilter | undefined;
  readonly setField: string | undefined;
}

export interface Transforms {
  readonly steps: readonly string[];
  /** Applies every step to `row` in place (a `set` writes its field); stops at the first filter that drops. */
  apply(row: Row): TransformOutcome;
}

const KEPT: TransformOutcome = { kind: "kept" };

/** CEL values a field can take; others (lists, maps, messages, bytes) are refused by the `set` step. */
function plainValue(value: unknown): unknown {
  if (isCelUint(value)) return value.value;
  return value;
}

export function compileTransforms(transforms: PipelineSpec["transforms"], mapper: FieldMapper): Transforms {
  const steps: CompiledStep[] = (transforms ?? []).map((t, i) => {
    const compiled = compileCel(t.expression);
    if (!compiled.ok) {
      throw new TransformCompileError(
        `spec.transforms[${i}].expression (${t.name}): CEL does not compile: ${compiled.error}`,
      );
    }
    const setField = t.type === "set" ? t.field : undefined;
    const fast = setField === undefined ? compileFastFilter(t.expression) : undefined;
    return { name: t.name, evaluate: compiled.evaluate, fast, setField };
  });
  return {
    steps: steps.map((s) => s.name),
    apply(row) {
      for (const step of steps) {
        const answer = step.fast?.(row);
        if (answer === false) return { kind: "filtered", step: step.name };
        if (answer === true) continue;
        const result = step.evaluate(row);
        if (!result.ok) {
          return {
            kind: "failed",
            failure: new DecodeFailure("transform", `transform ${step.name}: ${result.error}`, step.setField),
          };
        }
        if (step.setField === undefined) {
          if (result.value === false) return { kind: "filtered", step: step.name };
          if (result.value !== true) {
            return {
              kind: "failed",
              failure: new DecodeFailure("transform", `transform ${step.name}: a filter must return a bool`),
            };
          }
          continue;
        }
        const value = mapper.coerce(step.setField, plainValue(result.value));
        if (value instanceof DecodeFailure) {
          return {
            kind: "failed",
            failure: new DecodeFailure(
              "transform",
              `transform ${step.name}: ${value.message}`,
              step.setField,
            ),
          };
        }
        row[step.setField] = value;
      }
      return KEPT;
    },
  };
}
