import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { stackConfig } from "../env/config.js";
import { eventually } from "../support/eventually.js";
import { asList, exampleManifests, type Manifest } from "../support/examples.js";
import {
  createNamespace,
  deleteNamespace,
  deleteTallyObjects,
  eventsAbout,
  kubectlOk,
  type OperatorProcess,
  startOperator,
  waitForCondition,
} from "../support/kube.js";
import {
  clickhouseClient,
  createTopics,
  pipelineManifest,
  planOf,
  type RuntimeTestNames,
  runtimeTestNames,
} from "../support/runtime-harness.js";

// A Rollup applied with its Pipeline waits for the Pipeline's raw table without a Warning: that is not
// a failure, only order. Issue 11, item 9: every new Rollup emitted a transient SourceNotReady Warning.
// A source that does not exist is a failure and still warns.

let namespace: string;
let operator: OperatorProcess;
let names: RuntimeTestNames;
let rawTable: string | undefined;
const clickhouse = clickhouseClient();

function rollup(name: string, source: string): Manifest {
  const [minute] = exampleManifests("clickstream-rollups.yaml", namespace);
  if (minute === undefined) throw new Error("examples/clickstream-rollups.yaml has no rollup");
  return {
    ...minute,
    metadata: { name, namespace },
    spec: { ...minute.spec, source: { kind: "Pipeline", name: source } },
  };
}

async function eventTypes(name: string, reason: string): Promise<string[]> {
  return (await eventsAbout(namespace, name, reason)).map((e) => e.type);
}

beforeAll(async () => {
  await kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", `${stackConfig.repoRoot}/crds`]);
  await kubectlOk([
    "wait",
    "--for=condition=Established",
    "crd/pipelines.tally.dev",
    "crd/rollups.tally.dev",
  ]);
  namespace = await createNamespace("tally-rollup-wait");
  operator = await startOperator({ namespace });
  names = runtimeTestNames("wait", namespace);
  await createTopics(names, 1);
});

afterAll(async () => {
  await deleteTallyObjects(namespace);
  await operator?.stop();
  await deleteNamespace(namespace);
  if (rawTable !== undefined) await clickhouse.command({ query: `DROP TABLE IF EXISTS ${rawTable}` });
  await clickhouse.close();
});

describe("a rollup whose source is not ready yet", () => {
  it("waits with Ready=False/SourceNotReady and no Warning, then serves", async () => {
    // No connection Secrets yet: the Pipeline cannot create its raw table, so the Rollup must wait.
    const manifest = pipelineManifest(names);
    const sink = planOf(manifest).spec.sink.clickhouse;
    rawTable = `${sink.database}.${sink.table}`;
    const pipeline = parse(manifest) as Manifest;
    await kubectlOk(["apply", "-f", "-"], asList([pipeline, rollup("waiting", names.pipeline)]));
    await waitForCondition("pipeline", namespace, names.pipeline, "Ready", "False", {
      reason: "SecretNotFound",
    });
    const waiting = await waitForCondition("rollup", namespace, "waiting", "Ready", "False", {
      reason: "SourceNotReady",
    });
    expect(waiting.message).toContain("has not created its raw table yet");
    await eventually(
      async () => expect(await eventTypes("waiting", "SourceNotReady")).toEqual(["Normal"]),
      30_000,
    );

    await kubectlOk(["apply", "-f", "-"], asList(exampleManifests("local-connections.yaml", namespace)));
    await waitForCondition("rollup", namespace, "waiting", "Ready", "True", {
      reason: "Reconciled",
      timeoutMs: 120_000,
    });
    const warnings = (await eventsAbout(namespace, "waiting")).filter((e) => e.type === "Warning");
    expect(warnings).toEqual([]);
  });

  it("still warns when the source does not exist", async () => {
    await kubectlOk(["apply", "-f", "-"], asList([rollup("orphan", "no-such-pipeline")]));
    await waitForCondition("rollup", namespace, "orphan", "Ready", "False", { reason: "SourceNotFound" });
    await eventually(
      async () => expect(await eventTypes("orphan", "SourceNotFound")).toEqual(["Warning"]),
      30_000,
    );
  });
});
