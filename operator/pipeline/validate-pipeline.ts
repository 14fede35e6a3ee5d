/**
 * Checks of a Pipeline spec that a schema cannot express (pure): names that refer to other fields,
 * types that must suit their use, CEL that must compile, a JSON Schema that must compile. Each
 * problem names the field; the controller reports them all in one condition.
 */
import { compileCel } from "../api/v1alpha1/compile-cel.js";
import { compileEventSchema } from "../api/v1alpha1/event-schema.js";
import type { ColumnType, PipelineSpec } from "../api/v1alpha1/pipeline.js";
import type { SpecProblem } from "../api/v1alpha1/validation.js";
import { columnTypeTraits } from "../clickhouse/column-types.js";

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

  spec.transforms?.forEach((t, i) => {
    const compiled = compileCel(t.expression);
    if (!compiled.ok) problem(`spec.transforms[${i}].expression`, `CEL does not compile: ${compiled.error}`);
    if (t.type === "set" && !fields.has(t.field))
      problem(`spec.transforms[${i}].field`, `"${t.field}" is not one of spec.fields`);
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
