import { describe, expect, it } from "vitest";
import { parseSnapshot } from "./dashboard-snapshot.js";

const response = {
  columns: [{ name: "users", role: "metric", type: "UInt64" }],
  rows: [{ users: 4 }],
  explain: { source: { kind: "Pipeline", name: "p", table: "d.t" } },
};

describe("snapshot frames", () => {
  it("accepts ok and error panels", () => {
    const snapshot = {
      dashboard: "clickstream",
      generatedAt: "2026-01-01T00:00:00Z",
      panels: [
        { name: "users", visualization: "stat", status: "ok", response },
        {
          name: "bad",
          visualization: "table",
          status: "error",
          error: { error: "UnknownField", message: "no field x", field: "filter.field" },
        },
      ],
    };
    expect(parseSnapshot(JSON.stringify(snapshot))).toEqual({ ok: true, snapshot });
  });

  it("names what is wrong with a malformed frame", () => {
    expect(parseSnapshot("{")).toEqual({ ok: false, message: "the snapshot is not JSON" });
    expect(parseSnapshot("{}")).toEqual({ ok: false, message: "the snapshot has no panels list" });
    expect(
      parseSnapshot('{"panels":[{"name":"a","visualization":"stat","status":"ok","response":{}}]}'),
    ).toEqual({
      ok: false,
      message: "panels[0].response is not a QueryResponse",
    });
    expect(parseSnapshot('{"panels":[{"name":"a","visualization":"stat","status":"maybe"}]}')).toEqual({
      ok: false,
      message: "panels[0].status is neither ok nor error",
    });
  });
});
