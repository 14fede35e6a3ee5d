/**
 * The one place a controller writes status: server-side apply on the status subresource, only when
 * the computed status differs from the stored one, and an Event when the Ready condition changes.
 * An idle reconcile therefore writes nothing at all.
 */
import { apiVersion } from "../../api/v1alpha1/resources.js";
import type { EventRecorder } from "../../lib/kube/events.js";
import type { KubeClient, KubeObject, ResourceType } from "../../lib/kube/kube-client.js";
import { fieldManager } from "../labels.js";
import { type Condition, findCondition } from "./conditions.js";
import { apiWrites } from "./metrics.js";
import { sameJson } from "./stable-json.js";

interface StatusWrite<S extends { conditions?: readonly Condition[] }> {
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly type: ResourceType;
  readonly object: KubeObject;
  readonly previous: S | undefined;
  readonly status: S;
  /** Whether a Ready change is worth a Warning (a refusal or a blocker) rather than a Normal Event. */
  readonly warning: boolean;
  /**
   * "all": this controller owns the whole status. Otherwise it owns only the listed fields (and the
   * condition types it sets); others belong to another field manager and are neither compared nor
   * written. A listed field absent from `status` is one to clear, so its removal is a change.
   */
  readonly owns?: "all" | { readonly fields: readonly string[] };
  /** Server-side apply field manager; controllers sharing a status use different ones. */
  readonly fieldManager?: string;
  /**
   * Also record an Event when only the Ready message changes (a Dashboard whose set of bad panels
   * changes stays Ready=False InvalidPanels, yet the user should hear which panels are now at fault).
   */
  readonly eventOnMessageChange?: boolean;
}

/** The part of `previous` that a writer owning `fields` speaks for, with the condition types it sets. */
function ownedView(
  previous: Record<string, unknown> | undefined,
  status: Record<string, unknown>,
  fields: readonly string[],
): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  const types = new Set(((status.conditions as Condition[] | undefined) ?? []).map((c) => c.type));
  for (const key of fields) {
    view[key] =
      key === "conditions"
        ? ((previous?.conditions as Condition[] | undefined) ?? []).filter((c) => types.has(c.type))
        : previous?.[key];
  }
  return view;
}

export async function writeStatusIfChanged<S extends { conditions?: readonly Condition[] }>(
  write: StatusWrite<S>,
): Promise<boolean> {
  const { client, type, object, previous, status } = write;
  const compared =
    write.owns === undefined || write.owns === "all"
      ? previous
      : ownedView(
          previous as Record<string, unknown> | undefined,
          status as Record<string, unknown>,
          write.owns.fields,
        );
  if (sameJson(compared, status)) return false;
  const meta = { name: object.metadata?.name, namespace: object.metadata?.namespace };
  await client.apply(
    type,
    { apiVersion, kind: type.kind, metadata: meta, status } as KubeObject,
    write.fieldManager ?? fieldManager,
    "status",
  );
  apiWrites.inc({
    kind: type.kind,
    verb: write.fieldManager === undefined ? "status" : `status:${write.fieldManager}`,
  });
  const before = findCondition(previous?.conditions, "Ready");
  const after = findCondition(status.conditions, "Ready");
  const changed =
    before?.status !== after?.status ||
    before?.reason !== after?.reason ||
    (write.eventOnMessageChange === true && before?.message !== after?.message);
  if (after !== undefined && changed) {
    // An Event that cannot be written must not fail the reconcile that decided it.
    await write.recorder
      .record(
        { ...object, apiVersion, kind: type.kind },
        write.warning ? "Warning" : "Normal",
        after.reason,
        "Reconcile",
        after.message,
      )
      .catch(() => undefined);
  }
  return true;
}
