/**
 * The alert evaluator on the real stack: a raw table filled here and a minute Rollup over it in
 * ClickHouse (its materialized view), an AlertRule applied to the apiserver, Redis for the state, the
 * stack's Alertmanager delivering to the webhook sink. Two evaluators run in-process with their own
 * Lease identities, as two gateway replicas would: exactly one evaluates the rule; the owner is
 * stopped while the rule is Pending and the other continues its `for` timer; the rule fires once and
 * resolves once when the breaching rows stop.
 */
import { describe, expect, it } from "vitest";
import type { AlertRuleObject } from "../../api/v1alpha1/objects.js";
import { recordKey } from "../../gateway/alerts/rule-record.js";
import { type KubeObject, resourceTypes } from "../../lib/kube/kube-client.js";
import { alertmanagerUrl } from "../env/config.js";
import { consistently, leaseDurationMs, threshold, useAlertStack } from "../support/alert-stack.js";
import { eventually } from "../support/eventually.js";

const stack = useAlertStack("alert-eval");

describe("alert evaluation in the gateway", () => {
  it("one replica evaluates; the other continues the `for` timer when it stops; fires and resolves exactly once", async () => {
    const { id, namespace, redis, client, evaluator, produceErrors, ruleStatus, deliveredStatuses } = stack;
    const name = `errors-high-${id}`;
    const key = `${namespace}/${name}`;
    await client.create(resourceTypes.alertRule, {
      apiVersion: "tally.dev/v1alpha1",
      kind: "AlertRule",
      metadata: { name, namespace },
      spec: {
        query: {
          source: { kind: "Rollup", name: "clicks-per-minute" },
          metric: "events",
          groupBy: ["type"],
          range: "6s",
        },
        condition: { type: "threshold", operator: "gt", value: threshold },
        interval: "2s",
        for: "8s",
        // No rows (before the errors and after them) is fine here, not an alert of its own.
        noDataState: "Ok",
        labels: { team: "checkout" },
        notify: [{ type: "alertmanager", name: "am", url: alertmanagerUrl }],
      },
    } as KubeObject);
    const rule = await client.get<AlertRuleObject>(resourceTypes.alertRule, namespace, name);
    const uid = rule.metadata?.uid ?? "";

    const a = evaluator(`replica-a-${id}`);
    const b = evaluator(`replica-b-${id}`);
    const replicas = [a, b];
    a.start();
    b.start();
    let errors: { stop: () => Promise<void> } | undefined;
    try {
      // Exactly one replica holds the rule, and keeps holding it alone.
      await eventually(async () => {
        expect(replicas.flatMap((r) => r.owned())).toEqual([key]);
      }, 30_000);
      await consistently(async () => {
        expect(replicas.flatMap((r) => r.owned())).toEqual([key]);
      }, 3_000);

      errors = produceErrors();
      const pending = await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Pending");
        return status;
      }, 30_000);
      const activeAt = pending?.series?.[0]?.activeAt;
      expect(pending?.series?.[0]).toMatchObject({ labels: { type: "error" }, state: "Pending" });
      expect(pending?.series?.[0]?.value).toBeGreaterThan(threshold);

      // Stop the owner mid-`for` (it releases its Lease as a gateway does on SIGTERM).
      const owner = a.owned().length > 0 ? a : b;
      const other = owner === a ? b : a;
      const stoppedAt = Date.now();
      await owner.stop();
      await eventually(async () => {
        expect(other.owned()).toEqual([key]);
      }, 2 * leaseDurationMs);
      expect(Date.now() - stoppedAt).toBeLessThanOrEqual(leaseDurationMs);

      const firing = await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Firing");
        return status;
      }, 30_000);
      // The timer went on from where the first replica left it: the same activeAt, fired `for` after it.
      const series = firing?.series?.[0];
      expect(series?.activeAt).toBe(activeAt);
      const forMs = Date.parse(series?.firedAt ?? "") - Date.parse(activeAt ?? "");
      expect(forMs).toBeGreaterThanOrEqual(8_000);
      expect(forMs).toBeLessThan(8_000 + 2 * 2_000 + leaseDurationMs);
      await eventually(async () => {
        expect(await deliveredStatuses(name)).toEqual(["firing"]);
      }, 30_000);

      await errors.stop();
      errors = undefined;
      await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Ok");
        expect(status?.series?.[0]).toMatchObject({ labels: { type: "error" }, state: "Ok" });
        expect(status?.series?.[0]?.resolvedAt).toBeDefined();
        expect(status?.notifications).toMatchObject([{ channel: "am", ok: true, consecutiveFailures: 0 }]);
      }, 40_000);
      await eventually(async () => {
        expect(await deliveredStatuses(name)).toEqual(["firing", "resolved"]);
      }, 30_000);
      // Several group intervals and evaluations more: nothing is delivered twice.
      await consistently(async () => {
        expect(await deliveredStatuses(name)).toEqual(["firing", "resolved"]);
      }, 8_000);

      // An Event for each change of the rule's state, from the replicas' recorder.
      const events = await client.list<KubeObject & { reason?: string; regarding?: { name?: string } }>(
        resourceTypes.event,
        namespace,
      );
      const reasons = events.items.filter((e) => e.regarding?.name === name).map((e) => e.reason);
      expect(reasons).toEqual(expect.arrayContaining(["AlertPending", "AlertFiring", "AlertOk"]));
      // The state lives in Redis under the rule's key.
      expect(await redis.exists(recordKey(namespace, name, uid))).toBe(1);
    } finally {
      await errors?.stop();
      await Promise.all(replicas.map((r) => r.stop()));
      await client.delete(resourceTypes.alertRule, namespace, name);
      await redis.del(recordKey(namespace, name, uid));
    }
  }, 180_000);
});
