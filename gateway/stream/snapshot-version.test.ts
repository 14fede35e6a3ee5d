import { describe, expect, it } from "vitest";
import type { QueryResponse } from "../../api/v1alpha1/query.js";
import type { PanelSnapshot } from "../../api/v1alpha1/stream.js";
import { snapshotVersion } from "./snapshot-version.js";

function response(rows: QueryResponse["rows"], elapsedMs: number): QueryResponse {
  return {
    columns: [{ name: "events", role: "metric", type: "UInt64" }],
    rows,
    explain: {
      source: { kind: "Pipeline", name: "p", table: "db.t" },
      segments: [],
      candidates: [],
      range: { from: "2026-01-01T00:00:00Z", to: "2026-01-01T00:15:00Z" },
      approximate: [],
      elapsedMs,
      cache: { status: "bypass", settled: false },
    },
  };
}

const panel = (rows: QueryResponse["rows"], elapsedMs = 1): PanelSnapshot => ({
  name: "total",
  visualization: "stat",
  status: "ok",
  response: response(rows, elapsedMs),
});

describe("snapshot versions", () => {
  it("stay the same when only how the answer was produced changed", () => {
    expect(snapshotVersion([panel([{ events: 3 }], 1)])).toBe(snapshotVersion([panel([{ events: 3 }], 40)]));
  });

  it("change with the rows, and with a panel turning into an error", () => {
    const a = snapshotVersion([panel([{ events: 3 }])]);
    const b = snapshotVersion([panel([{ events: 4 }])]);
    const c = snapshotVersion([
      { name: "total", visualization: "stat", status: "error", error: { error: "X", message: "y" } },
    ]);
    expect(new Set([a, b, c]).size).toBe(3);
    expect(a).toMatch(/^[0-9a-f]{24}$/);
  });
});
