import { describe, expect, it } from "vitest";
import { deletionPolicyOf } from "../core/cleanup.js";
import { pipelineDeletionFacts, planPipelineCleanup } from "./pipeline-cleanup.js";

const status = { clickhouse: { database: "analytics", table: "events" } };
const spec = (extra: Record<string, unknown>) => ({
  sink: { clickhouse: { connectionSecretRef: { name: "tally-clickhouse" }, table: "events" } },
  ...extra,
});

function actions(facts: ReturnType<typeof pipelineDeletionFacts>, recorded = status): string[] {
  return planPipelineCleanup(facts, recorded).objects.map((o) => `${o.action} ${o.database}.${o.name}`);
}

describe("deletionPolicyOf", () => {
  it("reads Delete, and takes anything else (absent, unknown, no spec) as Retain", () => {
    expect(deletionPolicyOf({ deletionPolicy: "Delete" })).toBe("Delete");
    expect(deletionPolicyOf({ deletionPolicy: "Retain" })).toBe("Retain");
    expect(deletionPolicyOf({})).toBe("Retain");
    expect(deletionPolicyOf({ deletionPolicy: "delete" })).toBe("Retain");
    expect(deletionPolicyOf(undefined)).toBe("Retain");
  });
});

describe("pipelineDeletionFacts", () => {
  it("reads the policy, the connection Secret and whether there are windows, field by field", () => {
    expect(pipelineDeletionFacts(spec({ deletionPolicy: "Delete", windows: [{ name: "w" }] }))).toEqual({
      policy: "Delete",
      secret: "tally-clickhouse",
      hasWindows: true,
    });
    // A spec that would not validate (no fields, no source) is still read.
    expect(pipelineDeletionFacts(spec({ windows: [] }))).toEqual({
      policy: "Retain",
      secret: "tally-clickhouse",
      hasWindows: false,
    });
    expect(pipelineDeletionFacts({ sink: { clickhouse: { connectionSecretRef: { name: 7 } } } }).secret).toBe(
      undefined,
    );
  });
});

describe("planPipelineCleanup", () => {
  it("Delete drops the raw table and the window table recorded in status", () => {
    const facts = pipelineDeletionFacts(spec({ deletionPolicy: "Delete" }));
    // Dropped whether or not the spec has windows now: a window table from an earlier spec goes too.
    expect(actions(facts)).toEqual(["drop analytics.events", "drop analytics.events_windows"]);
  });

  it("Retain keeps both, naming the window table only when the spec has windows", () => {
    expect(actions(pipelineDeletionFacts(spec({ windows: [{ name: "w" }] })))).toEqual([
      "keep analytics.events",
      "keep analytics.events_windows",
    ]);
    expect(actions(pipelineDeletionFacts(spec({})))).toEqual(["keep analytics.events"]);
  });

  it("uses the recorded table, not the spec's, and plans nothing before a table was created", () => {
    const facts = pipelineDeletionFacts(spec({ deletionPolicy: "Delete" }));
    expect(actions(facts, { clickhouse: { database: "old", table: "before_rename" } })).toEqual([
      "drop old.before_rename",
      "drop old.before_rename_windows",
    ]);
    expect(planPipelineCleanup(facts, undefined).objects).toEqual([]);
  });
});
