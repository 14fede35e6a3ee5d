/**
 * The alert evaluator restarted, and Redis losing the rule's record, on the real stack (the same
 * set-up as gateway-alerts.int.test.ts, from test/support/alert-stack.ts: a raw table and a minute Rollup in ClickHouse, an AlertRule on
 * the apiserver, the stack's Alertmanager delivering to the webhook sink). "Redis lost its data" is
 * the rule's own key deleted: the stack's Redis is shared with other tests, so no FLUSHALL. A restart
 * mid-`for` continues the timer from Redis; a restart mid-Firing with the record gone rebuilds the
 * state from the AlertRule status; neither sends a second firing, and the resolve is sent once.
 */
import { describe, expect, it } from "vitest";
import type { AlertRuleObject } from "../../api/v1alpha1/objects.js";
import type { AlertEvaluator } from "../../gateway/alerts/alert-evaluator.js";
import { RuleRecordStore, recordKey } from "../../gateway/alerts/rule-record.js";
import { type KubeObject, resourceTypes } from "../../lib/kube/kube-client.js";
import { alertmanagerUrl } from "../env/config.js";
import { consistently, threshold, useAlertStack } from "../support/alert-stack.js";
import { eventually } from "../support/eventually.js";

const stack = useAlertStack("alert-restart");

describe("alert evaluation across restarts and a lost Redis record", () => {
  it("a restart mid-`for` keeps the timer; Firing survives the record's loss and a restart without it; one firing, one resolved", async () => {
    const { id, namespace, redis, client, evaluator, produceErrors, ruleStatus, deliveredStatuses } = stack;
    const name = `errors-restart-${id}`;
    const intervalMs = 2_000;
    const forMs = 8_000;
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
        noDataState: "Ok",
        notify: [{ type: "alertmanager", name: "am", url: alertmanagerUrl }],
      },
    } as KubeObject);
    const uid =
      (await client.get<AlertRuleObject>(resourceTypes.alertRule, namespace, name)).metadata?.uid ?? "";
    const key = recordKey(namespace, name, uid);
    const store = new RuleRecordStore(redis);
    const running: AlertEvaluator[] = [];
    /** Stops the running evaluator, does `meanwhile`, starts a new one (a gateway restarted). */
    const restart = async (meanwhile?: () => Promise<unknown>): Promise<AlertEvaluator> => {
      await running.at(-1)?.stop();
      await meanwhile?.();
      const next = evaluator(`gateway-${running.length}-${id}`);
      running.push(next);
      next.start();
      return next;
    };
    let errors: { stop: () => Promise<void> } | undefined;
    try {
      const first = await restart();
      await eventually(async () => expect(first.owned()).toEqual([`${namespace}/${name}`]), 30_000);
      errors = produceErrors();
      const pending = await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Pending");
        return status;
      }, 30_000);
      const activeAt = pending?.series?.[0]?.activeAt;
      expect(activeAt).toBeDefined();

      // Restart mid-`for` (the record in Redis): the new instance continues the timer.
      await restart();
      const firing = await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Firing");
        return status;
      }, 30_000);
      const series = firing?.series?.[0];
      expect(series?.activeAt).toBe(activeAt);
      const firedAfterMs = Date.parse(series?.firedAt ?? "") - Date.parse(activeAt ?? "");
      expect(firedAfterMs).toBeGreaterThanOrEqual(forMs);
      // A restarted timer would fire `for` after the restart, later than this.
      expect(firedAfterMs).toBeLessThan(forMs + 3 * intervalMs);
      await eventually(async () => expect(await deliveredStatuses(name)).toEqual(["firing"]), 30_000);

      // The record lost under a running evaluator: written again from its memory, nothing re-sent.
      await redis.del(key);
      await eventually(async () => expect(await redis.exists(key)).toBe(1), 10_000);
      expect((await store.load(key))?.state.series[0]).toMatchObject({ state: "Firing" });

      // Restart with the record lost: the state is rebuilt from the status; Firing stays Firing, the
      // same episode (activeAt, firedAt), and Alertmanager, sent the alert again, does not notify again.
      await restart(() => redis.del(key));
      const rebuilt = await eventually(async () => {
        const record = await store.load(key);
        expect(record).toBeDefined();
        return record;
      }, 30_000);
      expect(rebuilt?.state.series).toHaveLength(1);
      expect(rebuilt?.state.series[0]).toMatchObject({
        labels: { type: "error" },
        state: "Firing",
        activeAtMs: Date.parse(activeAt ?? ""),
        firedAtMs: Date.parse(series?.firedAt ?? ""),
      });
      // Several evaluations and Alertmanager group intervals (2 s) later: still Firing, one firing sent.
      await consistently(async () => {
        expect((await ruleStatus(name))?.state).toBe("Firing");
        expect(await deliveredStatuses(name)).toEqual(["firing"]);
      }, 8_000);

      await errors.stop();
      errors = undefined;
      await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Ok");
        expect(status?.series?.[0]?.resolvedAt).toBeDefined();
      }, 40_000);
      await eventually(
        async () => expect(await deliveredStatuses(name)).toEqual(["firing", "resolved"]),
        30_000,
      );
      await consistently(async () => {
        expect(await deliveredStatuses(name)).toEqual(["firing", "resolved"]);
      }, 8_000);
    } finally {
      await errors?.stop();
      await running.at(-1)?.stop();
      await client.delete(resourceTypes.alertRule, namespace, name);
      await redis.del(key);
    }
  }, 240_000);
});
