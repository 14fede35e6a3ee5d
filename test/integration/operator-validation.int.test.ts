import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stackConfig } from "../env/config.js";
import { asList, databaseFor, exampleManifests, type Manifest } from "../support/examples.js";
import {
  createNamespace,
  deleteNamespace,
  deleteTallyObjects,
  kubectl,
  kubectlOk,
  type OperatorProcess,
  startOperator,
  waitForCondition,
} from "../support/kube.js";

// Bad specs, each refused with a message that names the field: at `kubectl apply` where the
// schema (OpenAPI + CEL rules) can say it, otherwise by the operator in Ready=False and an Event.

let namespace: string;
let operator: OperatorProcess;

beforeAll(async () => {
  await kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", `${stackConfig.repoRoot}/crds`]);
  namespace = await createNamespace("tally-bad");
  await kubectlOk(["apply", "-f", "-"], asList(exampleManifests("local-connections.yaml", namespace)));
  operator = await startOperator({ namespace });
});
afterAll(async () => {
  // While the operator still runs: it removes the rollups' finalizers.
  await deleteTallyObjects(namespace);
  await operator?.stop();
  await deleteNamespace(namespace);
});

/** An edit of a manifest at a dotted path (`spec.windows.1.slide`); values are whatever a user might write. */
type Edit =
  | readonly ["set", string, unknown]
  | readonly ["delete", string]
  | readonly ["push", string, unknown];

function applyEdit(target: Record<string, unknown>, edit: Edit): void {
  const keys = edit[1].split(".");
  const last = keys.pop() ?? "";
  let node: Record<string, unknown> = target;
  for (const key of keys) node = node[key] as Record<string, unknown>;
  if (edit[0] === "set") node[last] = edit[2];
  else if (edit[0] === "delete") delete node[last];
  else (node[last] as unknown[]).push(edit[2]);
}

function example(file: string, name: string, ...edits: Edit[]): Manifest {
  const [m] = exampleManifests(file, namespace, databaseFor(namespace));
  if (m === undefined) throw new Error(`no manifest in ${file}`);
  m.metadata.name = name;
  for (const edit of edits) applyEdit(m, edit);
  return m;
}
const pipeline = (name: string, ...edits: Edit[]) => example("clickstream-pipeline.yaml", name, ...edits);
const rollup = (name: string, ...edits: Edit[]) => example("clickstream-rollups.yaml", name, ...edits);
const alert = (name: string, ...edits: Edit[]) => example("clickstream-alerts.yaml", name, ...edits);

const rejectedAtApply: [string, Manifest, RegExp][] = [];
const refusedByOperator: [string, Manifest, RegExp][] = [];

beforeAll(() => {
  rejectedAtApply.push(
    [
      "a table name with SQL in it",
      pipeline("bad-table", ["set", "spec.sink.clickhouse.table", "events`; DROP TABLE x; --"]),
      /spec\.sink\.clickhouse\.table/,
    ],
    [
      "a database name with a dot",
      pipeline("bad-db", ["set", "spec.sink.clickhouse.database", "a.b"]),
      /spec\.sink\.clickhouse\.database/,
    ],
    [
      "a field name with a space",
      pipeline("bad-field", ["set", "spec.fields.0.name", "event id"]),
      /spec\.fields\[0\]\.name/,
    ],
    [
      "an unknown column type",
      pipeline("bad-type", ["set", "spec.fields.0.type", "Text"]),
      /spec\.fields\[0\]\.type/,
    ],
    [
      "no topics",
      pipeline("no-topics", ["set", "spec.source.kafka.topics", []]),
      /spec\.source\.kafka\.topics/,
    ],
    [
      "brokers and a brokers Secret",
      pipeline("two-brokers", ["set", "spec.source.kafka.brokersSecretRef", { name: "k", key: "b" }]),
      /exactly one of brokers and brokersSecretRef/,
    ],
    [
      "a slide that does not divide the size",
      pipeline("bad-slide", ["set", "spec.windows.1.slide", "7m"]),
      /slide must be positive, at most size, and divide size evenly/,
    ],
    [
      "a slide on a tumbling window",
      pipeline("slide-tumbling", ["set", "spec.windows.0.slide", "30s"]),
      /slide is only allowed when type is sliding/,
    ],
    [
      "a session window without a gap",
      pipeline("no-gap", ["delete", "spec.windows.2.gap"]),
      /gap is required when type is session/,
    ],
    [
      "minReplicas above maxReplicas",
      pipeline("bad-replicas", ["set", "spec.scaling", { minReplicas: 5, maxReplicas: 2 }]),
      /minReplicas must not exceed maxReplicas/,
    ],
    [
      "scale to zero without an activation lag",
      pipeline("zero", ["set", "spec.scaling", { minReplicas: 0, maxReplicas: 2 }]),
      /activationLag/,
    ],
    [
      "a negative lateness",
      pipeline("neg-late", ["set", "spec.eventTime.allowedLateness", "-5s"]),
      /spec\.eventTime\.allowedLateness/,
    ],
    ["a duration in days", pipeline("days", ["set", "spec.dedup.horizon", "7d"]), /spec\.dedup\.horizon/],
    [
      "a quantile of 1",
      pipeline("q1", ["set", "spec.windows.1.aggregations.0.quantiles", [0.5, 1]]),
      /quantiles\[1\]/,
    ],
    [
      "an event-time field that is not declared",
      pipeline("no-ts", ["set", "spec.eventTime.field", "when"]),
      /eventTime\.field must name one of spec\.fields/,
    ],
    [
      "a group-by on an undeclared field",
      pipeline("bad-group", ["push", "spec.windows.0.groupBy", "country"]),
      /groupBy entry must name one of spec\.fields/,
    ],
    [
      "an aggregation field on count",
      pipeline("count-field", ["set", "spec.windows.0.aggregations.0.field", "user_id"]),
      /field is only allowed when fn is/,
    ],
    [
      "a Protobuf format without a message type",
      pipeline("proto", [
        "set",
        "spec.format",
        { type: "protobuf", schemaConfigMapRef: { name: "p", key: "k" } },
      ]),
      /messageType is required when type is protobuf/,
    ],
    ["an unknown granularity", rollup("bad-gran", ["set", "spec.granularity", "2m"]), /spec\.granularity/],
    [
      "a cascade at minute granularity",
      rollup("cascade-1m", ["set", "spec.source", { kind: "Rollup", name: "x" }]),
      /cascaded rollup must be coarser/,
    ],
    [
      "a filter with two values for eq",
      rollup("bad-filter", ["set", "spec.filter", [{ field: "type", operator: "eq", values: ["a", "b"] }]]),
      /exactly one value/,
    ],
    [
      "a window alert without the window name",
      alert("no-window", ["set", "spec.query.source", { kind: "Window", name: "clickstream" }]),
      /window is required with kind Window/,
    ],
    [
      "a window of size 0s",
      pipeline("size-zero", ["set", "spec.windows.0.size", "0s"]),
      /spec\.windows\[0\]\.size: Invalid value: .*must be a positive duration/,
    ],
    [
      "an alert label name Alertmanager refuses",
      alert("bad-label", ["set", "spec.labels", { "bad key!": "x" }]),
      /spec\.labels: Invalid value: .*every key must match/,
    ],
    [
      "an Alertmanager URL that is not http",
      alert("bad-url", ["set", "spec.notify", [{ type: "alertmanager", name: "am", url: "ftp://x" }]]),
      /spec\.notify\[0\]\.url/,
    ],
  );
  refusedByOperator.push(
    [
      "an event time that is a string column",
      pipeline("ts-string", ["set", "spec.eventTime.field", "user_id"]),
      /spec\.eventTime\.field: "user_id" is String/,
    ],
    [
      "a sum over a string",
      pipeline("sum-string", [
        "push",
        "spec.windows.0.aggregations",
        { fn: "sum", name: "bad", field: "url" },
      ]),
      /spec\.windows\[0\]\.aggregations\[3\]\.field: "url" is String; sum needs a numeric field/,
    ],
    [
      "CEL that does not compile",
      pipeline("bad-cel", ["set", "spec.transforms.0.expression", "event.user_id.startsWith("]),
      /spec\.transforms\[0\]\.expression: CEL does not compile/,
    ],
    [
      "a CEL filter naming a field the pipeline does not have",
      pipeline("cel-nope", ["set", "spec.transforms.0.expression", "event.nope == 'x'"]),
      /spec\.transforms\[0\]\.expression: CEL type error: event has no field 'nope'/,
    ],
    [
      "a CEL filter that is not boolean",
      pipeline("cel-double", ["set", "spec.transforms.0.expression", "event.value + 1.0"]),
      /spec\.transforms\[0\]\.expression: a filter must return bool; this expression returns double/,
    ],
    [
      "a reserved field name",
      pipeline("reserved", ["push", "spec.fields", { name: "_offset", type: "UInt64" }]),
      /spec\.fields\[8\]\.name: "_offset".*reserved/,
    ],
  );
});

describe("invalid manifests", () => {
  it("rejects each schema-level mistake at kubectl apply, naming the field", async () => {
    expect(rejectedAtApply.length + refusedByOperator.length).toBeGreaterThanOrEqual(20);
    const failures: string[] = [];
    for (const [label, manifest, message] of rejectedAtApply) {
      const result = await kubectl(["apply", "-f", "-"], JSON.stringify(manifest));
      if (result.code === 0) failures.push(`${label}: was accepted`);
      else if (!message.test(result.stderr))
        failures.push(`${label}: message did not match ${message}: ${result.stderr.trim()}`);
    }
    expect(failures).toEqual([]);
  });

  it("refuses each semantic mistake in Ready=False with the field named, and a Warning Event", async () => {
    await kubectlOk(["apply", "-f", "-"], asList(refusedByOperator.map(([, m]) => m)));
    for (const [label, manifest, message] of refusedByOperator) {
      const condition = await waitForCondition(
        "pipeline",
        namespace,
        manifest.metadata.name,
        "Ready",
        "False",
        { reason: "InvalidSpec" },
      );
      expect(condition.message, label).toMatch(message);
    }
    const events = JSON.parse(
      await kubectlOk(["get", "events.events.k8s.io", "-n", namespace, "-o", "json"]),
    ) as {
      items: { type: string; reason: string; regarding: { name: string } }[];
    };
    for (const [, manifest] of refusedByOperator) {
      expect(
        events.items.some(
          (e) =>
            e.type === "Warning" && e.reason === "InvalidSpec" && e.regarding.name === manifest.metadata.name,
        ),
      ).toBe(true);
    }
    // Nothing was created for a refused pipeline: no Deployment, no table.
    const deployments = await kubectlOk(["get", "deployments", "-n", namespace, "-o", "name"]);
    expect(deployments.trim()).toBe("");
  });
});
