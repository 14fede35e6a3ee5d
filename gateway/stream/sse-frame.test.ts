import { describe, expect, it } from "vitest";
import type { DashboardSnapshot } from "../../api/v1alpha1/stream.js";
import { errorFrame, heartbeatFrame, parseEventStream, snapshotFrame } from "./sse-frame.js";

const snapshot: DashboardSnapshot = {
  dashboard: "shop",
  generatedAt: "2026-01-01T00:00:00.000Z",
  panels: [
    {
      name: "errors",
      visualization: "stat",
      status: "error",
      error: { error: "UnknownField", message: "line one\nline two", field: "filter.field" },
    },
  ],
};

describe("SSE frames", () => {
  it("encodes a snapshot as event, id and one data line, ended by a blank line", () => {
    const frame = snapshotFrame("abc123", snapshot);
    const lines = frame.split("\n");
    expect(lines.slice(0, 2)).toEqual(["event: snapshot", "id: abc123"]);
    expect(lines[2]?.startsWith("data: ")).toBe(true);
    expect(lines.slice(3)).toEqual(["", ""]);
    // The newline inside the message stays escaped: one data line.
    expect(frame.split("\n").filter((l) => l.startsWith("data:"))).toHaveLength(1);
  });

  it("round-trips through an event-stream parser, heartbeats as comments", () => {
    const text =
      heartbeatFrame + snapshotFrame("v1", snapshot) + errorFrame({ error: "NotFound", message: "gone" });
    const parsed = parseEventStream(`${text}event: snap`);
    expect(parsed.comments).toBe(1);
    expect(parsed.rest).toBe("event: snap");
    expect(parsed.events.map((e) => [e.event, e.id])).toEqual([
      ["snapshot", "v1"],
      ["error", undefined],
    ]);
    expect(JSON.parse(parsed.events[0]?.data ?? "")).toEqual(snapshot);
    expect(JSON.parse(parsed.events[1]?.data ?? "")).toEqual({ error: "NotFound", message: "gone" });
  });

  it("refuses a version with a line break (it would end the id field)", () => {
    expect(() => snapshotFrame("a\nb", snapshot)).toThrow(/line break/);
  });
});
