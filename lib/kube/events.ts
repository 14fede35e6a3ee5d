/**
 * Kubernetes Events (events.k8s.io/v1) about Tally's objects. Emitted only when a decision changes
 * (a condition flips, a spec is refused, replicas change, an alert rule changes state), so an idle
 * program writes none.
 */
import { randomBytes } from "node:crypto";
import type { KubeClient, KubeObject } from "./kube-client.js";
import { resourceTypes } from "./kube-client.js";

export interface EventRecorder {
  record(
    regarding: KubeObject,
    type: "Normal" | "Warning",
    reason: string,
    action: string,
    note: string,
  ): Promise<void>;
}

/** `onCreate` counts the writes (each program has its own metrics). */
export function kubeEventRecorder(
  client: KubeClient,
  controller: string,
  instance: string,
  onCreate: () => void = () => undefined,
): EventRecorder {
  return {
    async record(regarding, type, reason, action, note) {
      const meta = regarding.metadata;
      if (meta?.name === undefined || meta.namespace === undefined) return;
      const now = new Date().toISOString().replace(/Z$/, "000Z");
      await client.create(resourceTypes.event, {
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        metadata: { name: `${meta.name}.${randomBytes(6).toString("hex")}`, namespace: meta.namespace },
        eventTime: now,
        reportingController: `tally.dev/${controller}`,
        reportingInstance: instance,
        action,
        reason,
        note: note.slice(0, 1024),
        type,
        regarding: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
      } as KubeObject);
      onCreate();
    },
  };
}
