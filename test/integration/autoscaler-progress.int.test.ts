import { afterAll, describe, expect, it } from "vitest";
import { initialAutoscalerState } from "../../operator/autoscaler/autoscaler-state.js";
import { OffsetSampler } from "../../operator/autoscaler/offset-sampler.js";
import {
  DecisionRule,
  decideScale,
  type ScaleDecision,
  scalingPolicyFromSpec,
} from "../../operator/autoscaler/scaling-policy.js";
import { computeSignals, type OffsetSample } from "../../operator/autoscaler/signals.js";
import { kafkaBrokers } from "../env/config.js";
import {
  createTopics,
  produce,
  runtimeScenario,
  WorkerProcess,
  waitForCommitted,
  writeManifest,
} from "../support/runtime-harness.js";

// The autoscaler's evidence of progress, from a real runtime's commit records read through the admin API
// (issue 11, item 7). A worker that dies just after committing its first batch's in-flight record is a
// group that makes no progress however long one waits (a crash loop re-reads the same batch each time):
// the policy must call it stuck only once the first-batch allowance has passed, not after one quiet
// window, since a first batch that is merely slow looks the same for a while. A worker that then drains
// the backlog moves the records and reports its inserts. Sample times come from an injected clock 5 s
// apart (the controller's interval), so the test need not wait a minute of wall time.

const workers: WorkerProcess[] = [];
let clock = Date.now();
const sampler = new OffsetSampler(() => clock);
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await sampler.close();
});

describe("the autoscaler's progress evidence from the runtime's commit records", () => {
  it("a group stalled on its first batch is stuck only after the first-batch allowance; a draining worker moves on", async () => {
    const { names, manifest, produced } = runtimeScenario("asprog", {
      seed: 31,
      partitions: 3,
      perPartition: 300,
    });
    await createTopics(names, 3);
    const backlog = 240;
    await produce(
      names.topic,
      produced.map((p) => p.slice(0, backlog)),
    );
    const configPath = writeManifest(manifest);
    const crashing = WorkerProcess.start(configPath, "asprog-crashing", {
      TALLY_TEST_CRASH_AT: "before-insert",
      TALLY_TEST_CRASH_AFTER_BATCHES: "1",
    });
    workers.push(crashing);
    const exit = await Promise.race([
      crashing.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`the worker did not crash:\n${crashing.tail(40)}`)), 60_000),
      ),
    ]);
    expect(exit.signal, crashing.tail()).toBe("SIGKILL");

    const policy = scalingPolicyFromSpec(
      {
        mode: "auto",
        minReplicas: 1,
        maxReplicas: 3,
        targetCatchUp: "2m",
        scaleUpStabilization: "0s",
        scaleDownStabilization: "5m",
        cooldown: "30s",
      },
      undefined,
    );
    const request = {
      connection: { brokers: kafkaBrokers, ssl: undefined, sasl: undefined },
      groupId: names.consumerGroup,
      topics: [names.topic],
      startOffset: "earliest" as const,
      // The crashed pod counts as ready, as a crash-looping one does between restarts.
      consumingReplicas: 1,
    };
    const samples: OffsetSample[] = [];
    let state = initialAutoscalerState;
    const sampleAndDecide = async (): Promise<ScaleDecision> => {
      samples.push(await sampler.sample(names.pipeline, request));
      const signals = computeSignals({ samples, currentReplicas: 1, sinkPressure: [], now: clock });
      const decision = decideScale(signals, state, policy, clock);
      state = decision.nextHistory;
      return decision;
    };

    // Thirteen rounds 5 s apart while a few messages a round keep arriving.
    const start = clock;
    const decisions: ScaleDecision[] = [];
    for (let round = 0; round < 13; round++) {
      clock = start + round * 5_000;
      await produce(
        names.topic,
        produced.map((p) => p.slice(backlog + round * 4, backlog + (round + 1) * 4)),
      );
      decisions.push(await sampleAndDecide());
    }
    // The crash left the first batch's in-flight record, with no insert reported (it never finished).
    const first = samples[0]?.partitions ?? [];
    const inflight = first.filter((p) => p.inflight !== undefined);
    expect(inflight.length, JSON.stringify(first)).toBeGreaterThan(0);
    for (const p of inflight) {
      expect(p.committed).toEqual({ kind: "committed", offset: p.inflight?.first });
      expect(p.sinkReport).toBeUndefined();
    }
    // Not stuck before the first-batch allowance (1m), stuck once it has passed.
    const rules = decisions.map((d) => d.rule);
    expect(rules.slice(0, 12), rules.join(",")).not.toContain(DecisionRule.noProgress);
    expect(decisions[12]?.rule, decisions[12]?.reason).toBe(DecisionRule.noProgress);
    expect(decisions[12]?.reason).toMatch(
      /^no partition committed or started a batch for 1m over 13 samples, and none has finished a batch since it was assigned/,
    );

    // A worker that works: the backlog drains, the commit records move and carry the insert reports.
    await produce(
      names.topic,
      produced.map((p) => p.slice(backlog + 13 * 4)),
    );
    const draining = WorkerProcess.start(configPath, "asprog-draining");
    workers.push(draining);
    await waitForCommitted(
      names,
      produced.map((p) => p.length),
    );
    clock += 5_000;
    const recovered = await sampleAndDecide();
    expect(recovered.rule).not.toBe(DecisionRule.noProgress);
    const latest = samples.at(-1)?.partitions ?? [];
    expect(latest.map((p) => p.inflight)).toEqual(latest.map(() => undefined));
    expect(latest.every((p) => p.sinkReport !== undefined && p.sinkReport.insertMs >= 0)).toBe(true);
    const signals = computeSignals({ samples, currentReplicas: 1, sinkPressure: [], now: clock });
    expect(signals.progress).toEqual({ kind: "moving" });
    expect(signals.totalLag).toEqual({ kind: "known", value: 0 });
  }, 300_000);
});
