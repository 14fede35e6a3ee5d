/**
 * Checks of a Pipeline spec that a schema cannot express (pure): names that refer to other fields,
 * types that must suit their use, CEL that must compile, a JSON Schema that must compile. Each
 * problem names the field; the controller reports them all in one condition.
 */
import { CelScalar, type CelType } from "@bufbuild/cel";
import { celTypeName, checkCel } from "./check-cel.js";
import { columnTypeTraits } from "./column-types.js";
import { DurationError, parseDuration } from "./duration.js";
import { compileEventSchema } from "./event-schema.js";
import type { ColumnType, PipelineSpec } from "./pipeline.js";
import type { SpecProblem } from "./validation.js";

/**
 * The CEL type of a field's value in `event`, as the runtime holds it (runtime/decode/row.ts): numbers,
 * dates and times are JavaScript numbers, so CEL sees a double (`event.count + 1` has no overload;
 * `event.count + 1.0` and `event.count > 1` do).
 */
function celTypeOfColumn(type: ColumnType): CelType {
  const traits = columnTypeTraits[type];
  if (traits.numeric || traits.temporal) return CelScalar.DOUBLE;
  return type === "Bool" ? CelScalar.BOOL : CelScalar.STRING;
}

/**
 * CEL result types a `set` step's field can take (runtime/decode/coerce.ts), whatever the value; a
 * value of another type would fail on every event. Integers arrive as bigint, which Bool refuses.
 */
function settableFrom(type: ColumnType): ReadonlySet<string> {
  if (type === "UUID") return new Set(["string"]);
  if (type === "Bool") return new Set(["bool", "double", "string"]);
  if (type === "String" || type === "LowCardinality(String)")
    return new Set(["string", "int", "uint", "double", "bool"]);
  return new Set(["string", "int", "uint", "double"]);
}

export function validatePipelineSemantics(spec: PipelineSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const fields = new Map(spec.fields.map((f) => [f.name, f]));
  const problem = (path: string, message: string) => problems.push({ path, message });

  spec.fields.forEach((f, i) => {
    if (f.name.startsWith("_")) {
      problem(
        `spec.fields[${i}].name`,
        `"${f.name}": names starting with _ are reserved for columns Tally adds (_topic, _partition, _offset, _inserted_at)`,
      );
    }
  });

  const time = fields.get(spec.eventTime.field);
  if (time === undefined) {
    problem("spec.eventTime.field", `"${spec.eventTime.field}" is not one of spec.fields`);
  } else {
    if (!columnTypeTraits[time.type].temporal) {
      problem(
        "spec.eventTime.field",
        `"${time.name}" is ${time.type}; the event time must be Date, DateTime or DateTime64(3)`,
      );
    }
    if (time.nullable)
      problem("spec.eventTime.field", `"${time.name}" is nullable; every event needs an event time`);
  }

  if (spec.dedup !== undefined && !fields.has(spec.dedup.field)) {
    problem("spec.dedup.field", `"${spec.dedup.field}" is not one of spec.fields`);
  }

  const need = (name: string, path: string, test: (type: ColumnType) => boolean, what: string) => {
    const field = fields.get(name);
    if (field === undefined) problem(path, `"${name}" is not one of spec.fields`);
    else if (!test(field.type)) problem(path, `"${name}" is ${field.type}; ${what}`);
  };

  spec.windows?.forEach((w, i) => {
    const [lengthName, length] = w.type === "session" ? ["gap", w.gap] : ["size", w.size];
    try {
      if (parseDuration(length, `spec.windows[${i}].${lengthName}`) <= 0)
        problem(`spec.windows[${i}].${lengthName}`, `must be a positive duration, not ${length}`);
    } catch (error) {
      if (!(error instanceof DurationError)) throw error;
      problem(`spec.windows[${i}].${lengthName}`, error.message);
    }
    w.groupBy.forEach((g, j) => {
      need(g, `spec.windows[${i}].groupBy[${j}]`, () => true, "");
    });
    w.aggregations.forEach((a, j) => {
      const path = `spec.windows[${i}].aggregations[${j}].field`;
      if (a.fn === "sum" || a.fn === "avg" || a.fn === "quantiles") {
        need(a.field, path, (t) => columnTypeTraits[t].numeric, `${a.fn} needs a numeric field`);
      } else if (a.fn === "min" || a.fn === "max") {
        need(
          a.field,
          path,
          (t) => columnTypeTraits[t].numeric || columnTypeTraits[t].temporal,
          `${a.fn} needs a numeric or time field`,
        );
      } else if (a.fn === "uniq") {
        need(a.field, path, () => true, "");
      }
    });
  });

  const event = new Map(spec.fields.map((f) => [f.name, celTypeOfColumn(f.type)]));
  spec.transforms?.forEach((t, i) => {
    const path = `spec.transforms[${i}].expression`;
    const checked = checkCel(t.expression, event);
    const target = t.type === "set" ? fields.get(t.field) : undefined;
    if (t.type === "set" && target === undefined)
      problem(`spec.transforms[${i}].field`, `"${t.field}" is not one of spec.fields`);
    if (!checked.ok) {
      problem(path, `CEL ${checked.stage === "parse" ? "does not compile" : "type error"}: ${checked.error}`);
    } else if (checked.type === CelScalar.DYN) {
      // Known only at run time.
    } else if (t.type === "filter" && checked.type !== CelScalar.BOOL) {
      problem(path, `a filter must return bool; this expression returns ${celTypeName(checked.type)}`);
    } else if (target !== undefined && !settableFrom(target.type).has(celTypeName(checked.type))) {
      problem(
        path,
        `returns ${celTypeName(checked.type)}, which field "${target.name}" (${target.type}) cannot hold`,
      );
    }
  });

  spec.enrich?.forEach((e, i) => {
    if (!fields.has(e.keyField))
      problem(`spec.enrich[${i}].keyField`, `"${e.keyField}" is not one of spec.fields`);
    e.fields.forEach((f, j) => {
      if (!fields.has(f))
        problem(
          `spec.enrich[${i}].fields[${j}]`,
          `"${f}" is not one of spec.fields (declare it to store it)`,
        );
    });
  });

  if (spec.format.type === "json" && spec.format.jsonSchema !== undefined) {
    try {
      compileEventSchema(spec.format.jsonSchema);
    } catch (error) {
      problem(
        "spec.format.jsonSchema",
        `not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return problems;
}
