import { describe, expect, it } from "vitest";
import { parseStreamRequest } from "./stream-request.js";

describe("the stream's parameters", () => {
  it("take a dashboard with a drill-down filter", () => {
    const filter = { op: "eq", field: "type", value: "click" };
    expect(parseStreamRequest({ dashboard: "sales", filter: JSON.stringify(filter) })).toEqual({
      ok: true,
      source: { kind: "dashboard", name: "sales" },
      filter,
    });
  });

  it("take an ad-hoc query with POST /query's defaults applied", () => {
    const parsed = parseStreamRequest({
      query: JSON.stringify({ metrics: ["events"], timeRange: { preset: "last_15m" } }),
    });
    expect(parsed.ok && parsed.source.kind === "query" && parsed.source.request).toMatchObject({
      granularity: "none",
      limit: 1000,
      dimensions: [],
    });
  });

  it("refuse neither or both of dashboard and query", () => {
    expect(parseStreamRequest({})).toMatchObject({ ok: false, error: { field: "dashboard" } });
    expect(parseStreamRequest({ dashboard: "a", query: "{}" })).toMatchObject({
      ok: false,
      error: { field: "query" },
    });
  });

  it("name the parameter (and the field in it) of a bad filter or query", () => {
    expect(parseStreamRequest({ dashboard: "a", filter: "{nope" })).toMatchObject({
      ok: false,
      error: { field: "filter", message: expect.stringMatching(/not JSON/) },
    });
    expect(
      parseStreamRequest({ dashboard: "a", filter: JSON.stringify({ op: "eq", value: 1 }) }),
    ).toMatchObject({
      ok: false,
      error: { field: expect.stringMatching(/^filter/) },
    });
    expect(
      parseStreamRequest({ query: JSON.stringify({ metrics: [], timeRange: { preset: "last_1h" } }) }),
    ).toMatchObject({
      ok: false,
      error: { field: "query.metrics" },
    });
  });
});
