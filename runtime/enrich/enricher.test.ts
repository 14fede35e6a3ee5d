import { describe, expect, it } from "vitest";
import { compileFieldMapper } from "../decode/field-mapping.js";
import { Enricher, EnrichmentError, type LookupSource, type ReferenceRecord } from "./enricher.js";
import { TtlCache } from "./ttl-cache.js";

const mapper = compileFieldMapper(
  [
    { name: "user_id", type: "String", nullable: false },
    { name: "country", type: "LowCardinality(String)", nullable: true },
    { name: "tier", type: "Int32", nullable: true },
  ],
  new Set(["country", "tier"]),
);

function source(data: Record<string, ReferenceRecord>, calls: string[][]): LookupSource {
  return {
    name: "users",
    keyField: "user_id",
    fields: ["country", "tier"],
    ttlMs: 1000,
    async fetch(keys) {
      calls.push([...keys]);
      return new Map(keys.flatMap((k) => (data[k] ? [[k, data[k]] as const] : [])));
    },
  };
}

describe("Enricher", () => {
  it("fetches each missing key once per TTL, caches misses too, and coerces values to the column types", async () => {
    let now = 0;
    const calls: string[][] = [];
    const enricher = new Enricher([source({ u1: { country: "NL", tier: "2" } }, calls)], mapper, () => now);
    const rows = [{ user_id: "u1" }, { user_id: "u2" }, { user_id: "u1" }];
    await enricher.prefetch(rows);
    await enricher.prefetch(rows);
    expect(calls).toEqual([["u1", "u2"]]);
    const [a, b] = rows.map((r) => ({ ...r }));
    if (a === undefined || b === undefined) throw new Error("rows");
    expect(enricher.apply(a)).toBeUndefined();
    expect(a).toEqual({ user_id: "u1", country: "NL", tier: 2 });
    expect(enricher.apply(b)).toBeUndefined();
    expect(b).toEqual({ user_id: "u2" });
    now = 1500;
    await enricher.prefetch(rows);
    expect(calls).toHaveLength(2);
  });

  it("reports a reference value that does not fit the column as a field failure", async () => {
    const enricher = new Enricher([source({ u1: { country: "NL", tier: "gold" } }, [])], mapper);
    const row = { user_id: "u1" };
    await enricher.prefetch([row]);
    expect(enricher.apply(row)).toMatchObject({
      kind: "field",
      field: "tier",
      message: /^enrichment users: /,
    });
  });

  it("wraps a source failure with the lookup's name", async () => {
    const failing: LookupSource = { ...source({}, []), fetch: async () => Promise.reject(new Error("down")) };
    await expect(new Enricher([failing], mapper).prefetch([{ user_id: "x" }])).rejects.toThrow(
      EnrichmentError,
    );
    await expect(new Enricher([failing], mapper).prefetch([{ user_id: "x" }])).rejects.toThrow(
      /enrichment users: .*down/,
    );
  });
});

describe("TtlCache", () => {
  it("expires entries and evicts the oldest when full", () => {
    const cache = new TtlCache<number>(100, 2);
    cache.set("a", 1, 0);
    cache.set("b", 2, 0);
    cache.set("c", 3, 0);
    expect(cache.get("a", 50)).toBeUndefined();
    expect(cache.get("b", 50)).toBe(2);
    expect(cache.get("b", 100)).toBeUndefined();
    expect(cache.peek("b")).toBe(2);
  });
});
