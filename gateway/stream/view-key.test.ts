import { describe, expect, it } from "vitest";
import type { QueryRequest } from "../../api/v1alpha1/query.js";
import { viewKey } from "./view-key.js";

const request: QueryRequest = {
  metrics: ["events"],
  dimensions: ["type"],
  timeRange: { preset: "last_15m" },
  granularity: "1m",
  timezone: "UTC",
  orderBy: [],
  limit: 1000,
  offset: 0,
};

describe("view keys", () => {
  it("are equal for the same dashboard and filter, whatever the order of object keys", () => {
    const a = viewKey({
      namespace: "shop",
      source: { kind: "dashboard", name: "sales" },
      filter: { op: "eq", field: "type", value: "click" },
    });
    const b = viewKey({
      namespace: "shop",
      source: { name: "sales", kind: "dashboard" },
      filter: { value: "click", field: "type", op: "eq" },
    });
    expect(a).toBe(b);
  });

  it("differ by namespace, dashboard, filter and query", () => {
    const base = {
      namespace: "shop",
      source: { kind: "dashboard" as const, name: "sales" },
      filter: undefined,
    };
    const keys = [
      viewKey(base),
      viewKey({ ...base, namespace: "other" }),
      viewKey({ ...base, source: { kind: "dashboard", name: "ops" } }),
      viewKey({ ...base, filter: { op: "eq", field: "type", value: "click" } }),
      viewKey({ ...base, filter: { op: "eq", field: "type", value: "view" } }),
      viewKey({ ...base, source: { kind: "query", request } }),
      viewKey({ ...base, source: { kind: "query", request: { ...request, limit: 10 } } }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("an ad-hoc query equals itself written with keys in another order", () => {
    const reordered = Object.fromEntries(Object.entries(request).reverse()) as QueryRequest;
    expect(viewKey({ namespace: "shop", source: { kind: "query", request }, filter: undefined })).toBe(
      viewKey({ namespace: "shop", source: { kind: "query", request: reordered }, filter: undefined }),
    );
  });
});
