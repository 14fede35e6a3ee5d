import { describe, expect, it } from "vitest";
import { setConditions } from "./conditions.js";

const t0 = new Date("2026-11-23T10:00:00.123Z");
const t1 = new Date("2026-11-23T10:05:00.000Z");

describe("setConditions", () => {
  it("stamps a new condition with the generation and the time, to the second", () => {
    expect(
      setConditions(
        undefined,
        [{ type: "Ready", status: "True", reason: "Reconciled", message: "ok" }],
        3,
        t0,
      ),
    ).toEqual([
      {
        type: "Ready",
        status: "True",
        observedGeneration: 3,
        lastTransitionTime: "2026-11-23T10:00:00Z",
        reason: "Reconciled",
        message: "ok",
      },
    ]);
  });

  it("keeps lastTransitionTime while the status is unchanged, even if reason or message change", () => {
    const first = setConditions(
      undefined,
      [{ type: "Ready", status: "False", reason: "PodsNotReady", message: "0/2" }],
      1,
      t0,
    );
    const second = setConditions(
      first,
      [{ type: "Ready", status: "False", reason: "RolloutInProgress", message: "1/2" }],
      2,
      t1,
    );
    expect(second[0]?.lastTransitionTime).toBe("2026-11-23T10:00:00Z");
    expect(second[0]?.reason).toBe("RolloutInProgress");
    expect(second[0]?.observedGeneration).toBe(2);
  });

  it("moves lastTransitionTime when the status flips", () => {
    const first = setConditions(
      undefined,
      [{ type: "Ready", status: "False", reason: "PodsNotReady", message: "" }],
      1,
      t0,
    );
    const second = setConditions(
      first,
      [{ type: "Ready", status: "True", reason: "Reconciled", message: "" }],
      1,
      t1,
    );
    expect(second[0]?.lastTransitionTime).toBe("2026-11-23T10:05:00Z");
  });

  it("keeps other conditions and orders them Ready, Progressing, Degraded, Scaling", () => {
    const first = setConditions(
      undefined,
      [{ type: "Degraded", status: "False", reason: "Reconciled", message: "" }],
      1,
      t0,
    );
    const second = setConditions(
      first,
      [{ type: "Ready", status: "True", reason: "Reconciled", message: "" }],
      1,
      t1,
    );
    expect(second.map((c) => c.type)).toEqual(["Ready", "Degraded"]);
  });
});
