import type { FilterCondition } from "../../api/v1alpha1/aggregation.js";
import { columnTypeTraits } from "../../api/v1alpha1/column-types.js";
import type { ColumnType } from "../../api/v1alpha1/pipeline.js";
import { SpecError } from "../../api/v1alpha1/spec-error.js";
import { numberLiteral, quoteIdentifier, quoteString } from "./sql.js";

const operators = {
  eq: "=",
  ne: "!=",
  gt: ">",
  gte: ">=",
  lt: "<",
  lte: "<=",
  in: "IN",
  notIn: "NOT IN",
} as const satisfies { readonly [K in FilterCondition["operator"]]: string };

/** A literal of the column's type, or a SpecError naming the value that does not parse. */
function typedLiteral(value: string, type: ColumnType, path: string): string {
  const traits = columnTypeTraits[type];
  if (traits.numeric) {
    const parsed = Number(value);
    if (value.trim() === "" || !Number.isFinite(parsed)) {
      throw new SpecError(path, `"${value}" is not a number, but the field is ${type}`);
    }
    if (type.includes("Int") && !Number.isInteger(parsed)) {
      throw new SpecError(path, `"${value}" is not an integer, but the field is ${type}`);
    }
    return numberLiteral(parsed, path);
  }
  if (type === "Bool") {
    if (value !== "true" && value !== "false") throw new SpecError(path, `"${value}" is not true or false`);
    return value;
  }
  if (traits.temporal) {
    if (Number.isNaN(Date.parse(value)))
      throw new SpecError(path, `"${value}" is not a date or time (ISO 8601)`);
    return `parseDateTime64BestEffort(${quoteString(value)}, 3)`;
  }
  return quoteString(value);
}

/**
 * `cond1 AND cond2 …` over declared fields, or undefined when there is no filter.
 * `fieldTypes` maps each field the source has to its type; unknown fields are refused.
 */
export function renderFilterSql(
  conditions: readonly FilterCondition[] | undefined,
  fieldTypes: ReadonlyMap<string, ColumnType>,
  path: string,
): string | undefined {
  if (conditions === undefined || conditions.length === 0) return undefined;
  return conditions
    .map((condition, i) => {
      const at = `${path}[${i}]`;
      const type = fieldTypes.get(condition.field);
      if (type === undefined) {
        throw new SpecError(
          `${at}.field`,
          `"${condition.field}" is not a field of the source (have: ${[...fieldTypes.keys()].join(", ")})`,
        );
      }
      if (["gt", "gte", "lt", "lte"].includes(condition.operator) && !columnTypeTraits[type].orderable) {
        throw new SpecError(`${at}.operator`, `${condition.operator} does not apply to a ${type} field`);
      }
      const column = quoteIdentifier(condition.field, `${at}.field`);
      const literals = condition.values.map((v, j) => typedLiteral(v, type, `${at}.values[${j}]`));
      const op = operators[condition.operator];
      if (condition.operator === "in" || condition.operator === "notIn")
        return `${column} ${op} (${literals.join(", ")})`;
      if (literals.length !== 1)
        throw new SpecError(`${at}.values`, `${condition.operator} takes exactly one value`);
      return `${column} ${op} ${literals[0]}`;
    })
    .join(" AND ");
}
