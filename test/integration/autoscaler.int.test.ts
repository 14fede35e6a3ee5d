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
  createTopics,
  kafkaClient,
  produce,
  runtimeScenario,
  waitForCommitted,
} from "../support/runtime-harness.js";

// The autoscaler loop against the real apiserver and Kafka, in the situations where it must not act:
// a topic that does not exist yet (hold, say why, no retry storm), an HPA pointed at the Pipeline
// (stand down, say so), and the pause annotation. The scaling itself is the e2e test's subject.

let scope: OperatorNamespace;
let namespace: string;

beforeAll(async () => {
  scope = await operatorNamespace("tally-as", { TALLY_AUTOSCALER_INTERVAL_MS: "1000" });
  namespace = scope.namespace;
});

afterAll(async () => {
  await scope?.close();
});

describe("the autoscaler loop", () => {
  it("holds on a missing topic, reports lag once it exists, stands down for an HPA and honours the pause annotation", async () => {
    const scenario = runtimeScenario(
      "as",
      { seed: 5, partitions: 2, perPartition: 200 },
      undefined,
      namespace,
    );
    const { names } = scenario;
    await kubectlOk(["apply", "-f", "-"], scenario.manifest);

    // No topic: a missing signal, held, with the broker's answer in the condition; never an error retry.
    const missing = await waitForCondition("pipeline", namespace, names.pipeline, "Scaling", "False", {
      reason: "SignalsMissing",
    });
    expect(missing.message).toContain(`topic ${names.topic}`);
    expect(missing.message).toContain("holding at 1 replica");

    // The topic appears with a backlog: lag is measured and reported.
    await createTopics(names, 2);
    await produce(names.topic, scenario.produced);
    await waitForCondition("pipeline", namespace, names.pipeline, "Scaling", "True");
    const withLag = JSON.parse(
      await kubectlOk(["get", "pipeline", names.pipeline, "-n", namespace, "-o", "jsonpath={.status}"]),
    ) as { lag?: number; desiredReplicas?: number };
    expect(typeof withLag.lag).toBe("number");
    expect(withLag.desiredReplicas).toBeGreaterThanOrEqual(1);

    // The runtime reports how its inserts went with every commit; that is what the autoscaler reads for
    // sink back-pressure.
    await waitForCommitted(
      names,
      scenario.produced.map((p) => p.length),
      90_000,
    );
    const admin = kafkaClient().admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: names.consumerGroup, topics: [names.topic] });
    await admin.disconnect();
    for (const p of committed?.partitions ?? []) expect(p.metadata).toMatch(/ sink=[0-9]+ms\/0f$/);

    // An HPA on the Pipeline's scale subresource owns replicas: ours stands down and says which one.
    await kubectlOk(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: "user-hpa", namespace },
        spec: {
          scaleTargetRef: { apiVersion: "tally.dev/v1alpha1", kind: "Pipeline", name: names.pipeline },
          minReplicas: 1,
          maxReplicas: 3,
          metrics: [
            {
              type: "Resource",
              resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
            },
          ],
        },
      }),
    );
    const standDown = await waitForCondition("pipeline", namespace, names.pipeline, "Scaling", "False", {
      reason: "HPAInControl",
      timeoutMs: 60_000,
    });
    expect(standDown.message).toContain("HorizontalPodAutoscaler user-hpa");
    const events = await eventsAbout(namespace, names.pipeline, "HPAInControl");
    expect(events.map((e) => e.type)).toEqual(["Warning"]);

    // Without the HPA but paused by annotation: held, and the reason says so.
    await kubectlOk(["delete", "hpa", "user-hpa", "-n", namespace]);
    await kubectlOk([
      "annotate",
      "pipeline",
      names.pipeline,
      "-n",
      namespace,
      "tally.dev/autoscaler-paused=true",
    ]);
    const paused = await waitForCondition("pipeline", namespace, names.pipeline, "Scaling", "False", {
      reason: "AutoscalerPaused",
      timeoutMs: 60_000,
    });
    expect(paused.message).toContain('tally.dev/autoscaler-paused="true"');

    // Through all of it: no scale write (nothing asked for one) and no failed round.
    expect(await scope.operator.metric("tally_operator_api_writes_total", { verb: "scale" })).toBe(0);
    expect(await scope.operator.metric("tally_operator_reconcile_errors_total")).toBe(0);
  });

  it("scales an idle pipeline to zero and wakes it when the lag reaches activationLag", async () => {
    const scenario = runtimeScenario(
      "zero",
      { seed: 9, partitions: 2, perPartition: 100 },
      (spec) => {
        spec.scaling = {
          mode: "auto",
          minReplicas: 0,
          maxReplicas: 2,
          activationLag: 50,
          targetCatchUp: "30s",
          scaleUpStabilization: "0s",
          scaleDownStabilization: "5s",
          cooldown: "5s",
        };
      },
      namespace,
    );
    const { names } = scenario;
    await createTopics(names, 2);
    await kubectlOk(["apply", "-f", "-"], scenario.manifest);
    const replicas = async () =>
      Number(
        (await kubectlOk([
          "get",
          "pipeline",
          names.pipeline,
          "-n",
          namespace,
          "-o",
          "jsonpath={.spec.replicas}",
        ])) || "1",
      );

    // Nothing arrives and nothing waits: after the 5 s window, zero replicas.
    await eventually(
      async () => {
        if ((await replicas()) !== 0) throw new Error(`replicas ${await replicas()}`);
      },
      90_000,
      1_000,
    );
    const asleep = await waitForCondition("pipeline", namespace, names.pipeline, "Scaling", "True", {
      reason: "Asleep",
      timeoutMs: 30_000,
    });
    expect(asleep.message).toContain("below activationLag 50");

    // A backlog above the activation threshold wakes it, and the woken replica drains it.
    await produce(names.topic, scenario.produced);
    await eventually(
      async () => {
        if ((await replicas()) < 1) throw new Error("still at zero");
      },
      60_000,
      1_000,
    );
    await waitForCommitted(
      names,
      scenario.produced.map((p) => p.length),
      90_000,
    );
    const scaled = (await eventsAbout(namespace, names.pipeline)).filter((e) =>
      e.reason.startsWith("Scaled"),
    );
    expect(scaled.map((e) => e.note.slice(0, 5))).toEqual(expect.arrayContaining(["1 → 0", "0 → 1"]));
  });
});
