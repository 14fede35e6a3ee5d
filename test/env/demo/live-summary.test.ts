import { describe, expect, it } from "vitest";
import { redrawInPlace, type SummarySnapshot, summaryLines } from "./live-summary.js";

const snapshot = (atMs: number, produced: number, problems: string[] = []): SummarySnapshot => ({
  atMs,
  produced,
  lag: 12,
  processingRate: 199.5,
  replicas: { ready: 1, current: 1, desired: 2 },
  alerts: [
    { name: "traffic-spike", state: "Ok" },
    { name: "revenue-low", state: "Firing" },
  ],
  rollupRows: 40,
  problems,
});

describe("summaryLines", () => {
  it("computes events/s from the produced delta over the time between snapshots", () => {
    const lines = summaryLines(snapshot(12_000, 1_400), snapshot(10_000, 1_000));
    expect(lines[0]).toBe("produced   200 events/s (1400 in all)");
    expect(lines[1]).toBe("pipeline   lag 12 messages, processing 200 events/s");
    expect(lines[2]).toBe("replicas   1/1 ready, desired 2");
    expect(lines[3]).toBe("alerts     traffic-spike=Ok  revenue-low=Firing");
    expect(lines[4]).toBe("rollup     clicks-per-minute: 40 rows");
  });

  it("shows no rate before a second snapshot and lists what could not be read", () => {
    const lines = summaryLines(snapshot(0, 5, ["rollup rows: no table yet"]), undefined);
    expect(lines[0]).toBe("produced   - events/s (5 in all)");
    expect(lines).toContain("  (rollup rows: no table yet)");
  });
});

describe("redrawInPlace", () => {
  it("draws the first block without moving up", () => {
    expect(redrawInPlace(0, ["a", "b"])).toBe("\r\x1b[2Ka\n\r\x1b[2Kb\n");
  });

  it("moves up over the previous block and rewrites each line", () => {
    expect(redrawInPlace(2, ["c", "d"])).toBe("\x1b[2A\r\x1b[2Kc\n\r\x1b[2Kd\n");
  });

  it("clears the lines a shorter block no longer covers and returns to its end", () => {
    expect(redrawInPlace(3, ["e"])).toBe("\x1b[3A\r\x1b[2Ke\n\r\x1b[2K\n\r\x1b[2K\n\x1b[2A");
  });
});
