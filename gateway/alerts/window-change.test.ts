import { describe, expect, it } from "vitest";
import { changedWindows, type WindowPoll, windowSignatures } from "./window-change.js";

const poll = (
  watermarks: Record<string, string>,
  windows: [string, number, string | undefined][],
): WindowPoll => ({
  watermarks,
  windows: new Map(windows.map(([w, size, newest]) => [w, { size, newest }])),
});

describe("windowSignatures and changedWindows", () => {
  const base = poll({ "t:0": "1000", "t:1": "2000" }, [
    ["per_minute", 3, '60000:["a"]'],
    ["latency", 1, '0:["/"]'],
  ]);

  it("a first look is the baseline, not a change", () => {
    expect(changedWindows(new Map(), windowSignatures(base))).toEqual([]);
  });

  it("the same reads (the hash fields in another order) are no change", () => {
    const same = poll({ "t:1": "2000", "t:0": "1000" }, [
      ["per_minute", 3, '60000:["a"]'],
      ["latency", 1, '0:["/"]'],
    ]);
    expect(changedWindows(windowSignatures(base), windowSignatures(same))).toEqual([]);
  });

  it("a watermark that moved changes every window of the pipeline", () => {
    const moved = poll({ "t:0": "1500", "t:1": "2000" }, [
      ["per_minute", 3, '60000:["a"]'],
      ["latency", 1, '0:["/"]'],
    ]);
    expect(changedWindows(windowSignatures(base), windowSignatures(moved))).toEqual([
      "per_minute",
      "latency",
    ]);
  });

  it("a new window instance (size or newest member) changes that window only", () => {
    const grown = poll({ "t:0": "1000", "t:1": "2000" }, [
      ["per_minute", 4, '60000:["b"]'],
      ["latency", 1, '0:["/"]'],
    ]);
    expect(changedWindows(windowSignatures(base), windowSignatures(grown))).toEqual(["per_minute"]);
    const replaced = poll({ "t:0": "1000", "t:1": "2000" }, [
      ["per_minute", 3, '120000:["a"]'],
      ["latency", 1, '0:["/"]'],
    ]);
    expect(changedWindows(windowSignatures(base), windowSignatures(replaced))).toEqual(["per_minute"]);
  });

  it("a partition appearing is a change", () => {
    const more = poll({ "t:0": "1000", "t:1": "2000", "t:2": "5" }, [["per_minute", 3, '60000:["a"]']]);
    expect(changedWindows(windowSignatures(base), windowSignatures(more))).toEqual(["per_minute"]);
  });
});
