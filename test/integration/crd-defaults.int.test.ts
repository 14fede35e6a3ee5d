import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  alertRuleDefaults,
  dashboardDefaults,
  pipelineDefaults,
  rollupDefaults,
} from "../../api/v1alpha1/defaults.js";
import { stackConfig } from "../env/config.js";
import { eventually } from "../support/eventually.js";
import {
  minimalAlertRuleSpec,
  minimalDashboardSpec,
  minimalPipelineSpec,
  minimalRollupSpec,
  valueAt,
} from "../support/fixtures/api-fixtures.js";
import { createNamespace, deleteNamespace, kubectlOk } from "../support/kube.js";

// What a user learns from the apiserver alone: the defaults it fills in at apply, and what
// `kubectl explain` says about a field (its default and what it means). No operator runs here.

let namespace: string;

beforeAll(async () => {
  await kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", `${stackConfig.repoRoot}/crds`]);
  namespace = await createNamespace("tally-defaults");
});
afterAll(async () => {
  await deleteNamespace(namespace);
});

describe("defaults", () => {
  it.each([
    ["Pipeline", "pipeline", minimalPipelineSpec, pipelineDefaults],
    ["Rollup", "rollup", minimalRollupSpec, rollupDefaults],
    ["AlertRule", "alertrule", minimalAlertRuleSpec, alertRuleDefaults],
    ["Dashboard", "dashboard", minimalDashboardSpec, dashboardDefaults],
  ] as const)(
    "are filled in by the apiserver when a minimal %s is applied",
    async (kind, resource, spec, table) => {
      const name = `minimal-${resource}`;
      const manifest = { apiVersion: "tally.dev/v1alpha1", kind, metadata: { name, namespace }, spec };
      await kubectlOk(["apply", "-f", "-"], JSON.stringify(manifest));
      const stored = JSON.parse(await kubectlOk(["get", resource, name, "-n", namespace, "-o", "json"])) as {
        spec: unknown;
      };
      // Every default, read back from what the apiserver stored, equals the code's constant.
      const filled = Object.fromEntries(Object.keys(table).map((path) => [path, valueAt(stored.spec, path)]));
      expect(filled).toEqual(table);
    },
  );

  it("are shown by kubectl explain with what the field means", async () => {
    // The apiserver publishes a CRD's OpenAPI a moment after the CRD is applied.
    const text = await eventually(async () => {
      const out = (await kubectlOk(["explain", "pipeline.spec.dedup.horizon"])).replace(/\s+/g, " ");
      expect(out).toContain(`Default: ${pipelineDefaults["dedup.horizon"]}.`);
      return out;
    }, 60_000);
    expect(text).toContain("measured in event time per Kafka partition, not in wall-clock time");
    expect(text).toMatch(
      /When replaying history .* duplicates whose event times are further apart than the horizon are both kept/,
    );

    const batch = (await kubectlOk(["explain", "pipeline.spec.sink.clickhouse.batch"])).replace(/\s+/g, " ");
    expect(batch).toContain(`Default: ${pipelineDefaults["sink.clickhouse.batch.maxRows"]}.`);
    expect(batch).toContain(`Default: ${pipelineDefaults["sink.clickhouse.batch.maxDelay"]}.`);

    const field = (await kubectlOk(["explain", "pipeline.spec.windows.aggregations.field"])).replace(
      /\s+/g,
      " ",
    );
    expect(field).toMatch(/fn uniq: .*any type \(strings included\)/);
  });
});
