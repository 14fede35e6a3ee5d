/**
 * A live-window AlertRule on the real stack (test/support/alert-stack.ts: the pipeline's window table in
 * ClickHouse, Redis, the apiserver, the stack's Alertmanager delivering to the webhook sink): with an
 * interval of a minute, the rule still fires within seconds of its window changing, because the evaluator
 * watches the window in Redis and evaluates on the change; the firing reaches Alertmanager once. A new
 * rule is evaluated at once, so its status has a state within seconds of its creation.
 */
import { describe, expect, it } from "vitest";
import type { AlertRuleObject } from "../../api/v1alpha1/objects.js";
import type { AlertObserver, EvaluationTrigger } from "../../gateway/alerts/alert-observer.js";
import { ignoreAlertObservations } from "../../gateway/alerts/alert-observer.js";
import { recordKey } from "../../gateway/alerts/rule-record.js";
import { type KubeObject, resourceTypes } from "../../lib/kube/kube-client.js";
import { alertmanagerUrl } from "../env/config.js";
import { consistently, liveWindow, useAlertStack } from "../support/alert-stack.js";
import { eventually } from "../support/eventually.js";

const stack = useAlertStack("alert-window");

/** A rule on the live window, firing on any event of `type`, with the given timing; answers its uid. */
async function createWindowRule(name: string, type: string, timing: Record<string, string>): Promise<string> {
  const { namespace, client } = stack;
  await client.create(resourceTypes.alertRule, {
    apiVersion: "tally.dev/v1alpha1",
    kind: "AlertRule",
    metadata: { name, namespace },
    spec: {
      query: {
        source: { kind: "Window", name: "clicks", window: liveWindow },
        metric: "events",
        filters: [{ field: "type", operator: "eq", values: [type] }],
        range: "2m",
      },
      condition: { type: "threshold", operator: "gt", value: 0 },
      ...timing,
      notify: [{ type: "alertmanager", name: "am", url: alertmanagerUrl }],
    },
  } as KubeObject);
  return (await client.get<AlertRuleObject>(resourceTypes.alertRule, namespace, name)).metadata?.uid ?? "";
}

/** The rule and its record in Redis. */
async function removeRule(name: string, uid: string): Promise<void> {
  await stack.client.delete(resourceTypes.alertRule, stack.namespace, name);
  await stack.redis.del(recordKey(stack.namespace, name, uid));
}

describe("live-window alert rules", () => {
  it("fire on the window's change, not an interval later", async () => {
    const { id, namespace, evaluator, writeWindowEvent, ruleStatus, deliveredStatuses } = stack;
    const name = `window-${id}`;
    const type = `checkout-${id}`;
    const uid = await createWindowRule(name, type, {
      // An interval far longer than the test waits: only the window's change can fire it in time.
      interval: "1m",
      for: "0s",
      noDataState: "Ok",
    });
    const triggers: EvaluationTrigger[] = [];
    const observer: AlertObserver = {
      ...ignoreAlertObservations,
      evaluated: (_outcome, trigger) => triggers.push(trigger),
    };
    const replica = evaluator(`window-${id}`, observer);
    replica.start();
    try {
      await eventually(async () => expect(replica.owned()).toEqual([`${namespace}/${name}`]), 30_000);
      // A new rule is evaluated as soon as it is taken, not at its first slot up to a minute later:
      // its status has a state (Ok: no rows yet, mapped to Ok) within seconds.
      await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Ok");
        expect(status?.lastEvaluation).toBeDefined();
      }, 10_000);
      // The watcher's first poll (250 ms) is its baseline; a change before it is the interval's to see.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const triggersBefore = triggers.length;
      const writtenAt = Date.now();
      await writeWindowEvent(type, writtenAt);
      const firing = await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Firing");
        return status;
      }, 15_000);
      const firedAt = Date.parse(firing?.series?.[0]?.firedAt ?? "");
      expect(firing?.series?.[0]?.value).toBe(1);
      // Decided within a few polls and one query of the write, by an evaluation the change started.
      expect(firedAt - writtenAt).toBeLessThan(5_000);
      // The observer hears of an evaluation once it has written the status and sent its notifications,
      // so the status can show Firing a moment before the trigger is recorded.
      await eventually(async () => expect(triggers.slice(triggersBefore)).toContain("window"), 10_000);
      await eventually(async () => expect(await deliveredStatuses(name)).toEqual(["firing"]), 30_000);
      await consistently(async () => expect(await deliveredStatuses(name)).toEqual(["firing"]), 4_000);
    } finally {
      await replica.stop();
      await removeRule(name, uid);
    }
  }, 120_000);
  it("a new rule with no data yet is Pending, not notified; its first breach waits `for` (observed: NoData → Firing at once)", async () => {
    const { id, evaluator, writeWindowEvent, ruleStatus, deliveredStatuses } = stack;
    const name = `window-new-${id}`;
    const type = `signup-${id}`;
    const forMs = 4_000;
    // noDataState and errorState left to their defaults (NoData, Error).
    const uid = await createWindowRule(name, type, { interval: "1s", for: "4s" });
    const replica = evaluator(`window-new-${id}`);
    replica.start();
    try {
      // No row of this type yet: Pending on NoData (the first-data grace), and nothing sent.
      const waiting = await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.series?.[0]).toMatchObject({ labels: {}, state: "Pending", pendingOn: "NoData" });
        return status;
      }, 30_000);
      expect(waiting?.state).toBe("Pending");
      await consistently(async () => {
        expect((await ruleStatus(name))?.series?.[0]?.pendingOn).toBe("NoData");
        expect(await deliveredStatuses(name)).toEqual([]);
      }, 3_000);

      const writtenAt = Date.now();
      await writeWindowEvent(type, writtenAt);
      const breaching = await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.series?.[0]).toMatchObject({ labels: {}, state: "Pending", pendingOn: "Firing" });
        return status;
      }, 15_000);
      const activeAt = Date.parse(breaching?.series?.[0]?.activeAt ?? "");
      // The breach's timer starts at the breach (an evaluation that began up to one interval before the
      // write may have read it), not when the rule started waiting for data, 3 s and more earlier.
      expect(activeAt).toBeGreaterThanOrEqual(writtenAt - 1_000);
      expect(activeAt - Date.parse(waiting?.series?.[0]?.activeAt ?? "")).toBeGreaterThanOrEqual(3_000);
      const firing = await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Firing");
        return status;
      }, 20_000);
      const series = firing?.series?.[0];
      expect(series?.activeAt).toBe(breaching?.series?.[0]?.activeAt);
      expect(Date.parse(series?.firedAt ?? "") - activeAt).toBeGreaterThanOrEqual(forMs);
      await eventually(async () => expect(await deliveredStatuses(name)).toEqual(["firing"]), 30_000);
      await consistently(async () => expect(await deliveredStatuses(name)).toEqual(["firing"]), 4_000);
    } finally {
      await replica.stop();
      await removeRule(name, uid);
    }
  }, 120_000);
});
