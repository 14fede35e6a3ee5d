import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AggregationError,
  type AggregationState,
  addValue,
  checkValue,
  cloneState,
  createState,
  deserializeState,
  mergeStates,
  resultsFor,
  serializeState,
  uniqKey,
} from "./aggregation.js";
import type { AggregationFn, AggregationSpec } from "./window-spec.js";

const specs = {
  count: { fn: "count" },
  sum: { fn: "sum", field: "x" },
  avg: { fn: "avg", field: "x" },
  min: { fn: "min", field: "x" },
  max: { fn: "max", field: "x" },
  uniq: { fn: "uniq", field: "x" },
  quantiles: { fn: "quantiles", field: "x", quantiles: [0.5, 0.99] },
} as const satisfies { [F in AggregationFn]: AggregationSpec };

const allSpecs: readonly AggregationSpec[] = Object.values(specs);

function stateOf(spec: AggregationSpec, values: readonly unknown[]): AggregationState {
  const state = createState(spec);
  for (const value of values) addValue(state, value);
  return state;
}

describe("results", () => {
  it.each<{ spec: AggregationSpec; values: unknown[]; results: Record<string, number | null> }>([
    { spec: specs.count, values: [], results: { count: 0 } },
    { spec: specs.count, values: [1, null, "a", undefined], results: { count: 4 } },
    { spec: specs.sum, values: [], results: { sum_x: 0 } },
    { spec: specs.sum, values: [1, 2.5, null, -4], results: { sum_x: -0.5 } },
    { spec: specs.sum, values: [0.1, 0.2, 0.3], results: { sum_x: 0.6 } },
    { spec: specs.avg, values: [], results: { avg_x: null } },
    { spec: specs.avg, values: [1, 2, undefined, 6], results: { avg_x: 3 } },
    { spec: specs.min, values: [], results: { min_x: null } },
    { spec: specs.min, values: [3, -2, 7], results: { min_x: -2 } },
    { spec: specs.max, values: [3, -2, 7], results: { max_x: 7 } },
    { spec: specs.max, values: [-0], results: { max_x: 0 } },
    { spec: specs.uniq, values: [], results: { uniq_x: 0 } },
    { spec: specs.uniq, values: ["a", "b", "a", 1, "1", true, 1.0, null], results: { uniq_x: 5 } },
    { spec: specs.quantiles, values: [], results: { quantiles_x_p50: null, quantiles_x_p99: null } },
    { spec: specs.quantiles, values: [5], results: { quantiles_x_p50: 5, quantiles_x_p99: 5 } },
    { spec: { fn: "sum", field: "x", as: "revenue" }, values: [1], results: { revenue: 1 } },
  ])("$spec.fn of $values", ({ spec, values, results }) => {
    expect(resultsFor(spec, stateOf(spec, values))).toEqual(results);
  });

  it("quantiles are within 1% on 1..10000", () => {
    const state = stateOf(
      specs.quantiles,
      Array.from({ length: 10_000 }, (_, i) => i + 1),
    );
    const results = resultsFor(specs.quantiles, state);
    expect(Math.abs((results.quantiles_x_p50 ?? 0) - 5000) / 5000).toBeLessThan(0.01);
    expect(Math.abs((results.quantiles_x_p99 ?? 0) - 9900) / 9900).toBeLessThan(0.01);
  });

  it("an overflowed sum is reported as null, not Infinity", () => {
    expect(resultsFor(specs.sum, stateOf(specs.sum, [Number.MAX_VALUE, Number.MAX_VALUE]))).toEqual({
      sum_x: null,
    });
  });

  it("refuses a state of another function", () => {
    expect(() => resultsFor(specs.sum, createState(specs.count))).toThrow(
      /"sum_x" is sum but its state is count/,
    );
  });
});

describe("checkValue and addValue", () => {
  it.each<{ fn: AggregationFn; value: unknown; ok: boolean }>([
    { fn: "count", value: { any: "thing" }, ok: true },
    { fn: "sum", value: 1, ok: true },
    { fn: "sum", value: null, ok: true },
    { fn: "sum", value: undefined, ok: true },
    { fn: "sum", value: "1", ok: false },
    { fn: "sum", value: Number.NaN, ok: false },
    { fn: "avg", value: Number.POSITIVE_INFINITY, ok: false },
    { fn: "min", value: true, ok: false },
    { fn: "max", value: [1], ok: false },
    { fn: "quantiles", value: 2n, ok: false },
    { fn: "uniq", value: "a", ok: true },
    { fn: "uniq", value: 1, ok: true },
    { fn: "uniq", value: false, ok: true },
    { fn: "uniq", value: {}, ok: false },
    { fn: "uniq", value: Number.NaN, ok: false },
  ])("$fn accepts $value: $ok", ({ fn, value, ok }) => {
    expect(checkValue(fn, value) === undefined).toBe(ok);
    const state = createState(specs[fn]);
    if (ok) expect(() => addValue(state, value)).not.toThrow();
    else expect(() => addValue(state, value)).toThrow(AggregationError);
  });

  it("error messages say which function and what value", () => {
    expect(checkValue("sum", "12")).toBe('sum needs a finite number, got string "12"');
  });

  it.each([
    ["a", "s:a"],
    [1, "n:1"],
    [1.5, "n:1.5"],
    [-0, "n:0"],
    [true, "b:1"],
    [false, "b:0"],
  ] as const)("uniqKey(%s) = %s", (value, key) => {
    expect(uniqKey(value)).toBe(key);
  });
});

describe("serialization", () => {
  it.each(allSpecs.map((spec) => [spec.fn, spec] as const))(
    "%s round-trips empty and filled states",
    (_fn, spec) => {
      for (const values of [[], [1, 2, 3, -4.5, 1e-9, 1e12]]) {
        const state = stateOf(spec, values);
        const text = serializeState(state);
        const back = deserializeState(text, spec.fn);
        expect(serializeState(back)).toBe(text);
        expect(resultsFor(spec, back)).toEqual(resultsFor(spec, state));
      }
    },
  );

  it.each([
    [specs.count, [1, 2], '{"v":1,"fn":"count","n":2}'],
    [specs.sum, [1, 2], '{"v":1,"fn":"sum","s":[3]}'],
    [specs.sum, [1e100, 1, -1e100, 0.5], '{"v":1,"fn":"sum","s":[1.5]}'],
    [specs.sum, [1e100, 1], '{"v":1,"fn":"sum","s":[1e+100,1]}'],
    [specs.avg, [1, 2], '{"v":1,"fn":"avg","n":2,"s":[3]}'],
    [specs.min, [], '{"v":1,"fn":"min","x":null}'],
    [specs.max, [4, 9], '{"v":1,"fn":"max","x":9}'],
    [specs.uniq, [], '{"v":1,"fn":"uniq","p":14,"sparse":""}'],
  ] as const)("%o of %o serializes compactly as %s", (spec, values, text) => {
    expect(serializeState(stateOf(spec, values))).toBe(text);
  });

  it("an overflowed sum survives serialization", () => {
    const state = stateOf(specs.sum, [-Number.MAX_VALUE, -Number.MAX_VALUE]);
    const text = serializeState(state);
    expect(text).toContain('"o":"-Infinity"');
    expect(resultsFor(specs.sum, deserializeState(text))).toEqual({ sum_x: null });
  });

  it.each([
    { name: "not JSON", text: "{", message: /not JSON/ },
    { name: "not an object", text: "[1]", message: /not an object/ },
    { name: "unknown function", text: '{"v":1,"fn":"median"}', message: /unknown state function median/ },
    {
      name: "unknown version",
      text: '{"v":2,"fn":"count","n":1}',
      message: /count state: unsupported format version 2/,
    },
    { name: "negative count", text: '{"v":1,"fn":"count","n":-1}', message: /"n" is not a count/ },
    { name: "fractional count", text: '{"v":1,"fn":"avg","n":1.5,"s":[1]}', message: /"n" is not a count/ },
    { name: "sum terms not numbers", text: '{"v":1,"fn":"sum","s":["1"]}', message: /"s" is not an array/ },
    { name: "bad overflow marker", text: '{"v":1,"fn":"sum","s":[],"o":"big"}', message: /"o" is big/ },
    { name: "min not a number", text: '{"v":1,"fn":"min","x":"3"}', message: /"x" is not a finite number/ },
    {
      name: "uniq with both forms",
      text: '{"v":1,"fn":"uniq","p":14,"sparse":"","dense":""}',
      message: /exactly one/,
    },
    {
      name: "uniq bad registers",
      text: '{"v":1,"fn":"uniq","p":14,"dense":"AAAA"}',
      message: /uniq state: .*3 registers/,
    },
    {
      name: "quantiles missing bins",
      text: '{"v":1,"fn":"quantiles","alpha":0.01}',
      message: /missing or mistyped/,
    },
    {
      name: "quantiles inconsistent",
      text: '{"v":1,"fn":"quantiles","alpha":0.01,"count":3,"zero":0,"min":1,"max":1,"pos":[0,1],"neg":[]}',
      message: /quantiles state: .*count 3 != bins 1/,
    },
  ])("deserialize rejects $name", ({ text, message }) => {
    expect(() => deserializeState(text)).toThrow(message);
  });

  it("deserialize checks the expected function", () => {
    expect(() => deserializeState('{"v":1,"fn":"count","n":1}', "sum")).toThrow(
      /expected a sum state, got count/,
    );
  });
});

describe("merge", () => {
  it("refuses to merge states of different functions", () => {
    expect(() => mergeStates(createState(specs.sum), createState(specs.avg))).toThrow(
      /cannot merge a avg state into a sum/,
    );
  });

  it("refuses to merge sketches with different parameters, wrapping the cause", () => {
    const p12 = deserializeState('{"v":1,"fn":"uniq","p":12,"sparse":""}');
    try {
      mergeStates(createState(specs.uniq), p12);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AggregationError);
      expect(error instanceof AggregationError && error.fn).toBe("uniq");
      expect(error instanceof Error && error.cause).toBeInstanceOf(Error);
    }
  });

  it("does not modify its inputs", () => {
    for (const spec of allSpecs) {
      const a = stateOf(spec, [1, 2]);
      const b = stateOf(spec, [3]);
      const before = [serializeState(a), serializeState(b)];
      mergeStates(a, b);
      expect([serializeState(a), serializeState(b)]).toEqual(before);
    }
  });

  it("cloneState is deep: adding to the copy leaves the original alone", () => {
    for (const spec of allSpecs) {
      const original = stateOf(spec, [1, 2]);
      const before = serializeState(original);
      const copy = cloneState(original);
      expect(serializeState(copy)).toBe(before);
      for (const v of [-100, 100, 7]) addValue(copy, v);
      expect(serializeState(copy)).not.toBe(before);
      expect(serializeState(original)).toBe(before);
    }
  });

  // Values as the pipeline sees them: numbers (with fractions, negatives, zeros), some missing.
  const value = fc.oneof(
    { weight: 8, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }) },
    { weight: 3, arbitrary: fc.integer({ min: -50, max: 50 }) },
    { weight: 1, arbitrary: fc.constantFrom(null, undefined, 0, -0) },
  );
  const uniqValue = fc.oneof(fc.string({ maxLength: 4 }), fc.integer({ min: 0, max: 200 }), fc.boolean());

  function splitProperty(spec: AggregationSpec, arbitrary: fc.Arbitrary<unknown>): void {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(arbitrary, fc.nat(4)), { maxLength: 80 }),
        fc.integer({ min: 1, max: 5 }),
        (items, workers) => {
          const whole = stateOf(
            spec,
            items.map(([v]) => v),
          );
          const partials = Array.from({ length: workers }, () => createState(spec));
          for (const [v, w] of items) {
            const partial = partials[w % workers];
            if (partial !== undefined) addValue(partial, v);
          }
          // Partials travel serialized (Redis/ClickHouse) and are merged in a tree, in an arbitrary order.
          const travelled = partials.map((p) => deserializeState(serializeState(p), spec.fn));
          let leftFold = createState(spec);
          for (const p of travelled) leftFold = mergeStates(leftFold, p);
          let rightFold = createState(spec);
          for (const p of [...travelled].reverse()) rightFold = mergeStates(p, rightFold);
          for (const merged of [leftFold, rightFold]) {
            expect(serializeState(merged)).toBe(serializeState(whole));
            expect(resultsFor(spec, merged)).toEqual(resultsFor(spec, whole));
          }
        },
      ),
      { numRuns: 60 },
    );
  }

  it.each(allSpecs.filter((spec) => spec.fn !== "uniq").map((spec) => [spec.fn, spec] as const))(
    "property (%s): any split across workers, merged in any order, equals one state exactly",
    (_fn, spec) => {
      splitProperty(spec, value);
    },
  );

  it("property (uniq): any split across workers, merged in any order, gives identical registers", () => {
    splitProperty(specs.uniq, uniqValue);
  });

  it("property: merge is associative and commutative on serialized states", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...allSpecs),
        fc.array(value, { maxLength: 20 }),
        fc.array(value, { maxLength: 20 }),
        fc.array(value, { maxLength: 20 }),
        (spec, xs, ys, zs) => {
          const a = stateOf(spec, xs);
          const b = stateOf(spec, ys);
          const c = stateOf(spec, zs);
          const left = serializeState(mergeStates(mergeStates(a, b), c));
          const right = serializeState(mergeStates(a, mergeStates(b, c)));
          const swapped = serializeState(mergeStates(c, mergeStates(b, a)));
          expect(right).toBe(left);
          expect(swapped).toBe(left);
        },
      ),
      { numRuns: 150 },
    );
  });
});
