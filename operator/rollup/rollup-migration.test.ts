import { describe, expect, it } from "vitest";
import type { RollupStatus } from "../../api/v1alpha1/rollup.js";
import {
  cutoverLeadMs,
  cutoverSettleMs,
  decideMigration,
  type Migration,
  type MigrationInput,
  type MigrationStep,
} from "./rollup-migration.js";

const now = new Date();
const at = (offsetMs: number): string => new Date(now.getTime() + offsetMs).toISOString();
const table = (version: number): string => `rollup_shop__clicks_v${version}`;

const servingV1: RollupStatus = {
  database: "analytics",
  table: table(1),
  view: `${table(1)}_mv`,
  servingVersion: 1,
  ddlHash: "h1",
  connectionSecret: "tally-clickhouse",
};
const building = (
  version: number,
  hash: string,
  phase: Migration["phase"],
  cutoffOffsetMs: number,
): Migration => ({
  version,
  database: "analytics",
  definitionHash: hash,
  cutoff: at(cutoffOffsetMs),
  phase,
});

function decide(
  status: RollupStatus,
  definitionHash: string,
  stagingPartitions?: readonly string[],
): MigrationStep {
  const input: MigrationInput = {
    namespace: "shop",
    name: "clicks",
    database: "analytics",
    definitionHash,
    status,
    ...(stagingPartitions === undefined ? {} : { stagingPartitions }),
    now,
  };
  return decideMigration(input);
}

/**
 * A new version planned now: cut-over one lead ahead, back after the lead and the settling; the
 * abandoned version and any leftover of the new one dropped first.
 */
const create = (version: number, hash: string, abandoned?: string): MigrationStep => ({
  kind: "create",
  migration: {
    version,
    database: "analytics",
    definitionHash: hash,
    cutoff: at(cutoverLeadMs),
    phase: "Created",
  },
  drop: abandoned === undefined ? [table(version)] : [abandoned, table(version)],
  requeueMs: cutoverLeadMs + cutoverSettleMs,
});
const observe: MigrationStep = {
  kind: "observeStaging",
  database: "analytics",
  stagingTable: `${table(2)}_backfill`,
};
const past = -(cutoverSettleMs + 1);

describe("decideMigration: every phase", () => {
  const cases: {
    name: string;
    status: RollupStatus;
    hash: string;
    staged?: string[];
    step: MigrationStep;
  }[] = [
    { name: "a new rollup creates version 1", status: {}, hash: "h1", step: create(1, "h1") },
    {
      name: "serving with the current definition has nothing to do",
      status: servingV1,
      hash: "h1",
      step: { kind: "serving", version: 1 },
    },
    {
      name: "a changed definition creates the next version beside the serving one",
      status: servingV1,
      hash: "h2",
      step: create(2, "h2"),
    },
    {
      name: "Created before the cut-over waits until cut-over plus settling",
      status: { ...servingV1, migration: building(2, "h2", "Created", 2_000) },
      hash: "h2",
      step: { kind: "waitForCutoff", ms: 2_000 + cutoverSettleMs },
    },
    {
      name: "Created just after the cut-over still waits for the settling",
      status: { ...servingV1, migration: building(2, "h2", "Created", -1_000) },
      hash: "h2",
      step: { kind: "waitForCutoff", ms: cutoverSettleMs - 1_000 },
    },
    {
      name: "Created once settled backfills and moves to Filled",
      status: { ...servingV1, migration: building(2, "h2", "Created", past) },
      hash: "h2",
      step: { kind: "backfill", migration: building(2, "h2", "Filled", past) },
    },
    {
      name: "Filled asks what is left in staging",
      status: { ...servingV1, migration: building(2, "h2", "Filled", past) },
      hash: "h2",
      step: observe,
    },
    {
      name: "Filled with staged partitions moves them, switches and drops the superseded table",
      status: { ...servingV1, migration: building(2, "h2", "Filled", past) },
      hash: "h2",
      staged: ["202601", "202602"],
      step: {
        kind: "switch",
        migration: building(2, "h2", "Filled", past),
        partitions: ["202601", "202602"],
        superseded: table(1),
      },
    },
    {
      name: "the first version's switch supersedes nothing",
      status: { migration: { ...building(1, "h1", "Filled", past) } },
      hash: "h1",
      staged: ["202601"],
      step: { kind: "switch", migration: building(1, "h1", "Filled", past), partitions: ["202601"] },
    },
  ];
  it.each(cases)("$name", ({ status, hash, staged, step }) => {
    expect(decide(status, hash, staged)).toEqual(step);
  });
});

describe("decideMigration: resuming after a restart at each phase", () => {
  // A restart re-reads status; ClickHouse may hold any state the last operator left behind.
  it("before the plan was recorded (new version's tables absent or partly created), it plans the same version again", () => {
    expect(decide(servingV1, "h2")).toEqual(create(2, "h2"));
    expect(decide(servingV1, "h2", [])).toEqual(create(2, "h2"));
  });

  it("before the plan was recorded, drops what an earlier attempt created of the new version", () => {
    // That attempt's view has an earlier cut-over; kept, it would feed rows the backfill adds again.
    expect(decide(servingV1, "h2")).toMatchObject({ kind: "create", drop: [table(2)] });
  });

  it.each([
    ["staging empty (crash before the backfill)", []],
    ["staging partly filled (crash during the backfill)", ["202601"]],
    ["staging filled (crash before recording Filled)", ["202601", "202602"]],
  ])("Created, %s: backfills again, since the backfill truncates first", (_state, staged) => {
    const status = { ...servingV1, migration: building(2, "h2", "Created", past) };
    expect(decide(status, "h2", staged)).toEqual({
      kind: "backfill",
      migration: building(2, "h2", "Filled", past),
    });
  });

  it.each([
    ["nothing moved yet", ["202601", "202602", "202603"]],
    ["some partitions moved", ["202603"]],
    ["all moved, switch not recorded", []],
  ])("Filled, %s: moves exactly what staging still holds, then switches", (_state, staged) => {
    const status = { ...servingV1, migration: building(2, "h2", "Filled", past) };
    expect(decide(status, "h2")).toEqual(observe);
    expect(decide(status, "h2", staged)).toEqual({
      kind: "switch",
      migration: building(2, "h2", "Filled", past),
      partitions: staged,
      superseded: table(1),
    });
  });

  it("after the switch was recorded, it serves the new version and builds nothing", () => {
    const switched: RollupStatus = { ...servingV1, table: table(2), servingVersion: 2, ddlHash: "h2" };
    expect(decide(switched, "h2")).toEqual({ kind: "serving", version: 2 });
  });
});

describe("decideMigration: redefinition mid-migration", () => {
  it.each(["Created", "Filled"] as const)(
    "in %s, abandons the unfinished version and creates the one after it",
    (phase) => {
      const status = { ...servingV1, migration: building(2, "h2", phase, past) };
      expect(decide(status, "h3", ["202601"])).toEqual(create(3, "h3", table(2)));
    },
  );

  it("back to the serving definition, still replaces the unfinished version rather than reuse its number", () => {
    const status = { ...servingV1, migration: building(2, "h2", "Created", 1_000) };
    expect(decide(status, "h1")).toEqual(create(3, "h1", table(2)));
  });

  it("during the first migration, with nothing serving yet", () => {
    expect(decide({ migration: building(1, "h1", "Created", 1_000) }, "h2")).toEqual(
      create(2, "h2", table(1)),
    );
  });
});

describe("decideMigration: driven to the end from any recorded status", () => {
  /** Performs steps the way the controller records them, with a clock that jumps past each wait. */
  function run(
    start: RollupStatus,
    hash: string,
    staged: string[],
  ): { status: RollupStatus; steps: string[] } {
    let status = start;
    let clock = now;
    let observed: readonly string[] | undefined;
    const steps: string[] = [];
    for (let i = 0; i < 10; i++) {
      const step = decideMigration({
        namespace: "shop",
        name: "clicks",
        database: "analytics",
        definitionHash: hash,
        status,
        ...(observed === undefined ? {} : { stagingPartitions: observed }),
        now: clock,
      });
      steps.push(step.kind);
      if (step.kind === "serving") return { status, steps };
      if (step.kind === "create") status = { ...status, migration: step.migration };
      if (step.kind === "waitForCutoff") clock = new Date(clock.getTime() + step.ms);
      if (step.kind === "backfill") status = { ...status, migration: step.migration };
      if (step.kind === "observeStaging") observed = staged;
      if (step.kind === "switch") {
        const { migration: _done, ...rest } = status;
        status = {
          ...rest,
          table: table(step.migration.version),
          servingVersion: step.migration.version,
          ddlHash: hash,
        };
        observed = undefined;
      }
    }
    throw new Error(`no serving state after 10 steps: ${steps.join(" ")}`);
  }

  it.each([
    ["nothing", {}, 1],
    ["serving an older definition", servingV1, 2],
    ["Created", { ...servingV1, migration: building(2, "h2", "Created", 1_000) }, 2],
    ["Filled", { ...servingV1, migration: building(2, "h2", "Filled", past) }, 2],
    [
      "mid-migration of an older definition",
      { ...servingV1, migration: building(2, "h0", "Filled", past) },
      3,
    ],
  ] as const)("from %s it ends serving version %i of the current definition", (_from, start, version) => {
    const { status } = run(start, "h2", ["202601"]);
    expect(status.servingVersion).toBe(version);
    expect(status.ddlHash).toBe("h2");
    expect(status.migration).toBeUndefined();
  });
});
