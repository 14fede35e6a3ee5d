import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";
import {
  eventsAbout,
  kubectlOk,
  type OperatorNamespace,
  operatorNamespace,
  waitForCondition,
} from "../support/kube.js";
import {
  checkGroundTruth,
  clickhouseClient,
  createTables,
  createTopics,
  produceGradually,
  runtimeScenario,
  waitForCommitted,
} from "../support/runtime-harness.js";
import { e2eTarget } from "./target.js";

// The autoscaler end to end on the local control plane: a pipeline at 1 replica gets a burst it cannot
// drain alone; the operator raises its replicas through the scale subresource, the pod-runner starts
// more runtime processes, the lag drains, and after the scale-down stabilization window it goes back
// to 1. Through every rebalance nothing is lost or counted twice (the runtime tests' ground truth).
// Local only: the operator runs here as a local process (operatorNamespace) with the autoscaler's
// intervals shortened for pods that start in 2 s, and the pipeline's brokers are the host's. On kind the
// operator would have to run in-cluster (the chart has no value for those intervals) and the runtime pods
// would need the in-cluster brokers while this operator process needs the host's, so the suite is skipped
// there rather than run on assumptions that do not hold.
const onLocalStack = e2eTarget.name === "local";

const partitions = 4;
/** Large enough that one runtime process needs well over the autoscaler's reaction time to drain it. */
const perPartition = Number(process.env.TALLY_E2E_BURST_PER_PARTITION ?? "200000");

interface PipelineView {
  spec: { replicas?: number };
  status?: {
    lag?: number;
    desiredReplicas?: number;
    scaleReason?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

let scope: OperatorNamespace;
let namespace: string;
const clickhouse = clickhouseClient();

function log(message: string): void {
  console.log(`[e2e autoscaling] ${message}`);
}

describe.skipIf(!onLocalStack)("autoscaling on consumer lag", () => {
  beforeAll(async () => {
    // Pods here are local processes that start in about 2 s: with the default 15 s the autoscaler rightly
    // lets one fast replica drain the burst alone.
    scope = await operatorNamespace("tally-scale", {
      TALLY_AUTOSCALER_INTERVAL_MS: "2000",
      TALLY_AUTOSCALER_POD_START_MS: "2000",
    });
    namespace = scope.namespace;
  });

  afterAll(async () => {
    await scope?.close();
    await clickhouse.close();
  });

  it("scales up for a burst, drains it, scales back down, and loses or doubles nothing", async () => {
    const scenario = runtimeScenario(
      "scale",
      // 10 ms apart: the burst spans 25 minutes of event time, inside the live view's 1 h in Redis.
      { seed: 11, partitions, perPartition, spacingMs: 10 },
      (spec) => {
        spec.sink.clickhouse.batch = { maxRows: 5_000, maxDelay: "500ms" };
        spec.scaling = {
          mode: "auto",
          minReplicas: 1,
          maxReplicas: 4,
          targetCatchUp: "10s",
          scaleUpStabilization: "0s",
          scaleDownStabilization: "30s",
          cooldown: "10s",
        };
      },
      namespace,
    );
    const { names } = scenario;
    await createTopics(names, partitions);
    const rollup = await createTables(clickhouse, scenario.plan, names);
    const get = async () =>
      JSON.parse(
        await kubectlOk(["get", "pipeline", names.pipeline, "-n", namespace, "-o", "json"]),
      ) as PipelineView;
    const runningPods = async () =>
      (
        await kubectlOk([
          "get",
          "pods",
          "-n",
          namespace,
          "-l",
          `tally.dev/pipeline=${names.pipeline}`,
          "--field-selector=status.phase=Running",
          "-o",
          "name",
        ])
      )
        .split("\n")
        .filter((l) => l.trim() !== "").length;

    // The burst lands before the pipeline's one runtime process starts (as after an upstream outage or
    // a backfill): on this 2-core machine a live producer is no faster than one runtime process, so a
    // burst produced while it runs would not build a backlog worth scaling for.
    const started = Date.now();
    await produceGradually(names.topic, scenario.produced, 40, 0);
    const total = scenario.produced.reduce((n, p) => n + p.length, 0);
    log(`${Math.round((Date.now() - started) / 1000)} s: produced ${total} messages`);
    await kubectlOk(["apply", "-f", "-"], scenario.manifest);
    await waitForCondition("pipeline", namespace, names.pipeline, "Ready", "True", { timeoutMs: 120_000 });
    expect((await get()).spec.replicas ?? 1).toBe(1);

    // Up: the operator raises replicas and the pod-runner runs a process per pod.
    let peakReplicas = 1;
    let peakPods = 1;
    let peakLag = 0;
    await eventually(
      async () => {
        const p = await get();
        peakReplicas = Math.max(peakReplicas, p.spec.replicas ?? 1);
        peakLag = Math.max(peakLag, p.status?.lag ?? 0);
        peakPods = Math.max(peakPods, await runningPods());
        if (peakPods < 2) {
          throw new Error(
            `replicas ${p.spec.replicas ?? 1}, ${peakPods} pods, lag ${p.status?.lag ?? "?"}: ${p.status?.scaleReason ?? ""}`,
          );
        }
      },
      240_000,
      1_000,
    );
    log(
      `${Math.round((Date.now() - started) / 1000)} s: ${peakReplicas} replicas, ${peakPods} runtime processes`,
    );
    const scaledUp = await get();
    expect(scaledUp.spec.replicas ?? 1).toBeGreaterThan(1);
    expect(scaledUp.status?.conditions?.find((c) => c.type === "Scaling")?.status).toBe("True");

    // Drained: every offset committed, none in flight.
    await waitForCommitted(
      names,
      scenario.produced.map((p) => p.length),
      600_000,
    );
    log(`${Math.round((Date.now() - started) / 1000)} s: ${total} messages drained`);

    // Down: after the 30 s stabilization window, back to the minimum.
    await eventually(
      async () => {
        const p = await get();
        peakLag = Math.max(peakLag, p.status?.lag ?? 0);
        if ((p.spec.replicas ?? 1) !== 1)
          throw new Error(`replicas ${p.spec.replicas}: ${p.status?.scaleReason ?? ""}`);
      },
      240_000,
      1_000,
    );
    await eventually(
      async () => {
        const pods = await runningPods();
        if (pods !== 1) throw new Error(`${pods} runtime pods running`);
      },
      120_000,
      1_000,
    );
    const down = await get();
    log(
      `${Math.round((Date.now() - started) / 1000)} s: back to 1 replica; peak lag ${peakLag}; reason: ${down.status?.scaleReason}`,
    );
    expect(down.status?.lag).toBe(0);
    expect(peakLag).toBeGreaterThan(0);

    // Every scale action is explained in an Event.
    const events = await eventsAbout(namespace, names.pipeline);
    const reasons = events.map((e) => e.reason);
    expect(reasons).toContain("ScaledUp");
    expect(reasons).toContain("ScaledDown");
    for (const e of events.filter((x) => x.reason.startsWith("Scaled")))
      expect(e.note).toMatch(/\d+ → \d+: /);

    // Nothing lost, nothing counted twice through every rebalance.
    await checkGroundTruth({
      names,
      plan: scenario.plan,
      clickhouse,
      rollup,
      produced: scenario.produced,
      expected: scenario.expected,
      checkRedis: true,
    });
  });
});
