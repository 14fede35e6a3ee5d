/**
 * Static type check of a Pipeline's CEL expression against the event's declared fields (pure), so an
 * expression that would fail on every event (a field the pipeline does not have, `double + int`, an
 * unknown function) or a filter that cannot return bool is refused when the spec is applied, not turned
 * into a dead letter per event. @bufbuild/cel 0.6's own checker types only constants and identifiers,
 * so this walks the parsed expression itself; function and operator overloads come from the same
 * environment the runtime evaluates with (`celEnv()`), so the check cannot admit a call the runtime
 * lacks. Where a type is only known at run time (`dyn`, map values), anything goes.
 */
import { CelScalar, type CelType, celEnv, listType, mapType, parse } from "@bufbuild/cel";

type Expr = NonNullable<ReturnType<typeof parse>["expr"]>;

/** The declared fields of `event` with the CEL type each value has at run time. */
type EventFields = ReadonlyMap<string, CelType>;

type CelCheck =
  | { readonly ok: true; readonly type: CelType }
  | { readonly ok: false; readonly stage: "parse" | "type"; readonly error: string };

class CelTypeError extends Error {}

const env = celEnv();
const { BOOL, BYTES, DOUBLE, DYN, INT, NULL, STRING, TYPE, UINT } = CelScalar;
const typeNames = new Set([
  "bool",
  "bytes",
  "double",
  "int",
  "uint",
  "string",
  "list",
  "map",
  "null_type",
  "type",
  "dyn",
]);

/** How a type reads in an error: `timestamp`, not google.protobuf.Timestamp. */
export function celTypeName(type: CelType): string {
  if (type.kind === "object" && type.name === "google.protobuf.Timestamp") return "timestamp";
  if (type.kind === "object" && type.name === "google.protobuf.Duration") return "duration";
  return String(type);
}

function accepts(param: CelType, arg: CelType): boolean {
  if (param === DYN || arg === DYN) return true;
  if (param.kind !== arg.kind) return false;
  // Element types of lists and maps are only known at run time here.
  return param.kind === "list" || param.kind === "map" || param.name === arg.name;
}

function sameOrDyn(types: readonly CelType[]): CelType {
  const [first] = types;
  return first !== undefined && types.every((t) => t.name === first.name) ? first : DYN;
}

class Checker {
  /** `event` itself; identity tells it apart from other maps, whose fields are unknown. */
  private readonly eventType = mapType(STRING, DYN);

  constructor(private readonly fields: EventFields) {}

  typeOf(expr: Expr, scope: ReadonlyMap<string, CelType>): CelType {
    const kind = expr.exprKind;
    switch (kind.case) {
      case "constExpr":
        return this.constant(kind.value.constantKind.case);
      case "identExpr": {
        const name = kind.value.name;
        const bound = scope.get(name);
        if (bound !== undefined) return bound;
        if (name === "event") return this.eventType;
        if (typeNames.has(name)) return TYPE;
        throw new CelTypeError(`undeclared reference to '${name}' (the only variable is event)`);
      }
      case "selectExpr": {
        const { operand, field, testOnly } = kind.value;
        if (operand === undefined) throw new CelTypeError("select without an operand");
        const type = this.member(this.typeOf(operand, scope), field);
        return testOnly ? BOOL : type;
      }
      case "callExpr":
        return this.call(kind.value.function, kind.value.target, kind.value.args, scope);
      case "listExpr":
        return listType(sameOrDyn(kind.value.elements.map((e) => this.typeOf(e, scope))));
      case "structExpr": {
        if (kind.value.messageName !== "") throw new CelTypeError(`unknown type '${kind.value.messageName}'`);
        const values: CelType[] = [];
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === "mapKey") this.typeOf(entry.keyKind.value, scope);
          if (entry.value !== undefined) values.push(this.typeOf(entry.value, scope));
        }
        return mapType(DYN, sameOrDyn(values));
      }
      case "comprehensionExpr": {
        const c = kind.value;
        if (c.iterRange === undefined || c.accuInit === undefined || c.result === undefined)
          throw new CelTypeError("incomplete comprehension");
        const range = this.typeOf(c.iterRange, scope);
        const inner = new Map(scope);
        if (range.kind === "list") {
          inner.set(c.iterVar, range.element);
          if (c.iterVar2 !== "") inner.set(c.iterVar2, range.element);
        } else if (range.kind === "map") {
          inner.set(c.iterVar, range === this.eventType ? STRING : range.key);
          if (c.iterVar2 !== "") inner.set(c.iterVar2, range.value);
        } else if (range === DYN) {
          inner.set(c.iterVar, DYN);
          if (c.iterVar2 !== "") inner.set(c.iterVar2, DYN);
        } else {
          throw new CelTypeError(`cannot iterate over ${celTypeName(range)}`);
        }
        const init = this.typeOf(c.accuInit, scope);
        inner.set(c.accuVar, init);
        if (c.loopCondition !== undefined) this.typeOf(c.loopCondition, inner);
        if (c.loopStep !== undefined) inner.set(c.accuVar, sameOrDyn([init, this.typeOf(c.loopStep, inner)]));
        return this.typeOf(c.result, inner);
      }
      default:
        throw new CelTypeError(`unsupported expression (${String(kind.case)})`);
    }
  }

  private constant(kind: string | undefined): CelType {
    switch (kind) {
      case "boolValue":
        return BOOL;
      case "int64Value":
        return INT;
      case "uint64Value":
        return UINT;
      case "doubleValue":
        return DOUBLE;
      case "stringValue":
        return STRING;
      case "bytesValue":
        return BYTES;
      case "nullValue":
        return NULL;
      default:
        return DYN;
    }
  }

  /** The type of `operand.field` (and of `operand['field']` with a constant key). */
  private member(operand: CelType, field: string): CelType {
    if (operand === this.eventType) {
      const type = this.fields.get(field);
      if (type === undefined) {
        throw new CelTypeError(
          `event has no field '${field}' (the pipeline declares: ${[...this.fields.keys()].join(", ")})`,
        );
      }
      return type;
    }
    if (operand.kind === "map") return operand.value;
    if (operand === DYN) return DYN;
    throw new CelTypeError(`cannot select field '${field}' of a ${celTypeName(operand)}`);
  }

  private call(
    fn: string,
    target: Expr | undefined,
    argExprs: readonly Expr[],
    scope: ReadonlyMap<string, CelType>,
  ): CelType {
    const args = argExprs.map((a) => this.typeOf(a, scope));
    const need = (type: CelType, what: string) => {
      if (!accepts(BOOL, type)) throw new CelTypeError(`${what} must be bool, not ${celTypeName(type)}`);
    };
    // Operators the evaluator implements itself rather than as functions.
    switch (fn) {
      case "_&&_":
      case "_||_":
        for (const a of args) need(a, `each operand of ${fn === "_&&_" ? "&&" : "||"}`);
        return BOOL;
      case "@not_strictly_false":
        return BOOL;
      case "_?_:_": {
        const [condition = DYN, ifTrue = DYN, ifFalse = DYN] = args;
        need(condition, "the condition of ?:");
        return sameOrDyn([ifTrue, ifFalse]);
      }
      case "_[_]": {
        const [operand = DYN, index = DYN] = args;
        const key = argExprs[1]?.exprKind;
        if (
          operand === this.eventType &&
          key?.case === "constExpr" &&
          key.value.constantKind.case === "stringValue"
        )
          return this.member(operand, key.value.constantKind.value);
        if (operand.kind === "list") return operand.element;
        if (operand.kind === "map") return operand.value;
        if (operand === DYN) return DYN;
        throw new CelTypeError(`cannot index a ${celTypeName(operand)} with ${celTypeName(index)}`);
      }
    }
    const targetType = target === undefined ? undefined : this.typeOf(target, scope);
    const group = env.funcs.find(fn);
    if (group === undefined) throw new CelTypeError(`unknown function '${fn}'`);
    const results = [...group]
      .filter((f) => (f.target === undefined) === (targetType === undefined))
      .filter((f) => f.target === undefined || targetType === undefined || accepts(f.target, targetType))
      .filter(
        (f) => f.arguments.length === args.length && f.arguments.every((p, i) => accepts(p, args[i] ?? DYN)),
      )
      .map((f) => f.result);
    if (results.length === 0) {
      const applied = [...(targetType ? [targetType] : []), ...args].map(celTypeName).join(", ");
      throw new CelTypeError(`found no matching overload for '${fn}' applied to (${applied})`);
    }
    return sameOrDyn(results);
  }
}

/** The type of `expression` over `event` with the given fields, or why it cannot be evaluated. */
export function checkCel(expression: string, fields: EventFields): CelCheck {
  let root: Expr | undefined;
  try {
    root = parse(expression).expr;
  } catch (error) {
    return { ok: false, stage: "parse", error: error instanceof Error ? error.message : String(error) };
  }
  if (root === undefined) return { ok: false, stage: "parse", error: "empty expression" };
  try {
    return { ok: true, type: new Checker(fields).typeOf(root, new Map()) };
  } catch (error) {
    if (error instanceof CelTypeError) return { ok: false, stage: "type", error: error.message };
    throw error;
  }
}
