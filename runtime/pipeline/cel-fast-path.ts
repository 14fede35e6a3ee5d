/**
 * A fast path for the common CEL filters: field access on `event`, literals, `!`, `&&`, `||`,
 * comparisons, `in` a list of literals, and `startsWith`/`endsWith`/`contains`, compiled once into
 * plain closures. The interpreter converts the whole row into a CEL map on every evaluation, which
 * costs more than the rest of a typical filter's work.
 *
 * The fast path only answers when the answer is certain: any value outside its narrow typing (a null
 * or missing field, mixed types, a string ordering) makes it return FALLBACK, and the caller asks the
 * interpreter, which then also produces CEL's own errors. The property test in cel-fast-path.test.ts
 * checks that every answer it gives equals the interpreter's.
 */
import { parse } from "@bufbuild/cel";
import type { Row } from "../decode/row.js";

type Expr = NonNullable<ReturnType<typeof parse>["expr"]>;

/** "Ask the interpreter." */
export const FALLBACK: unique symbol = Symbol("cel-fallback");

type Value = string | number | boolean | typeof FALLBACK;
type Node = (event: Row) => Value;

/** A compiled filter: true or false when certain, FALLBACK otherwise. */
export type FastFilter = (event: Row) => boolean | typeof FALLBACK;

/** The fast filter of a CEL expression, or undefined when the expression is outside the subset. */
export function compileFastFilter(expression: string): FastFilter | undefined {
  let root: Expr | undefined;
  try {
    root = parse(expression).expr;
  } catch {
    return undefined;
  }
  const node = root === undefined ? undefined : compile(root);
  if (node === undefined) return undefined;
  return (event) => {
    const value = node(event);
    return typeof value === "boolean" ? value : FALLBACK;
  };
}

function compile(expr: Expr): Node | undefined {
  const kind = expr.exprKind;
  switch (kind.case) {
    case "constExpr": {
      const constant = kind.value.constantKind;
      switch (constant.case) {
        case "stringValue":
        case "boolValue":
        case "doubleValue": {
          const value = constant.value;
          return () => value;
        }
        case "int64Value":
        case "uint64Value": {
          // Compared with doubles exactly only while it is a safe integer.
          const value = Number(constant.value);
          return Number.isSafeInteger(value) ? () => value : undefined;
        }
        default:
          return undefined;
      }
    }
    case "selectExpr": {
      const { operand, field, testOnly } = kind.value;
      if (testOnly || operand?.exprKind.case !== "identExpr" || operand.exprKind.value.name !== "event")
        return undefined;
      return (event) => {
        const value = Object.hasOwn(event, field) ? event[field] : undefined;
        return value === undefined || value === null ? FALLBACK : value;
      };
    }
    case "callExpr":
      return compileCall(kind.value.function, kind.value.target, kind.value.args);
    default:
      return undefined;
  }
}

function compileCall(fn: string, target: Expr | undefined, argExprs: readonly Expr[]): Node | undefined {
  if (target !== undefined) {
    if (argExprs.length !== 1 || (fn !== "startsWith" && fn !== "endsWith" && fn !== "contains"))
      return undefined;
    const [self, arg] = [compile(target), argExprs[0] === undefined ? undefined : compile(argExprs[0])];
    if (self === undefined || arg === undefined) return undefined;
    return (event) => {
      const s = self(event);
      const a = arg(event);
      if (typeof s !== "string" || typeof a !== "string") return FALLBACK;
      // Both are well-formed UTF-16, so matching code units is matching code points.
      return fn === "startsWith" ? s.startsWith(a) : fn === "endsWith" ? s.endsWith(a) : s.includes(a);
    };
  }
  if (fn === "@in") return compileIn(argExprs);
  const args: Node[] = [];
  for (const a of argExprs) {
    const node = compile(a);
    if (node === undefined) return undefined;
    args.push(node);
  }
  const [left, right] = args;
  if (fn === "!_") {
    if (args.length !== 1 || left === undefined) return undefined;
    return (event) => {
      const v = left(event);
      return typeof v === "boolean" ? !v : FALLBACK;
    };
  }
  if (args.length !== 2 || left === undefined || right === undefined) return undefined;
  switch (fn) {
    case "_&&_":
    case "_||_": {
      // CEL's && and || absorb an error on the other side when one side decides; short-circuiting on a
      // deciding left side gives the same answer, and anything else undecided goes to the interpreter.
      const decides = fn === "_||_";
      return (event) => {
        const l = left(event);
        if (typeof l !== "boolean") return FALLBACK;
        if (l === decides) return decides;
        const r = right(event);
        return typeof r === "boolean" ? r : FALLBACK;
      };
    }
    case "_==_":
    case "_!=_": {
      const equal = fn === "_==_";
      return (event) => {
        const l = left(event);
        const r = right(event);
        if (l === FALLBACK || r === FALLBACK || typeof l !== typeof r) return FALLBACK;
        return (l === r) === equal;
      };
    }
    case "_<_":
      return numeric(left, right, (a, b) => a < b);
    case "_<=_":
      return numeric(left, right, (a, b) => a <= b);
    case "_>_":
      return numeric(left, right, (a, b) => a > b);
    case "_>=_":
      return numeric(left, right, (a, b) => a >= b);
    default:
      return undefined;
  }
}

/** Orderings of numbers only: strings order by code point in CEL, not by UTF-16 unit. */
function numeric(left: Node, right: Node, compare: (a: number, b: number) => boolean): Node {
  return (event) => {
    const l = left(event);
    const r = right(event);
    return typeof l === "number" && typeof r === "number" ? compare(l, r) : FALLBACK;
  };
}

/** `x in [literal, ...]` with literals of one type: a Set lookup for a value of that type. */
function compileIn(argExprs: readonly Expr[]): Node | undefined {
  const [needleExpr, listExpr] = argExprs;
  if (needleExpr === undefined || listExpr?.exprKind.case !== "listExpr") return undefined;
  const needle = compile(needleExpr);
  if (needle === undefined) return undefined;
  const elements = new Set<string | number | boolean>();
  let type: string | undefined;
  for (const element of listExpr.exprKind.value.elements) {
    if (element.exprKind.case !== "constExpr") return undefined;
    const value = compile(element)?.({});
    if (value === undefined || value === FALLBACK) return undefined;
    if (type !== undefined && typeof value !== type) return undefined;
    type = typeof value;
    elements.add(value);
  }
  return (event) => {
    const v = needle(event);
    if (v === FALLBACK || (type !== undefined && typeof v !== type)) return FALLBACK;
    return elements.has(v);
  };
}
