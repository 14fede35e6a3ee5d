/**
 * What deleting a Pipeline or a Rollup does to its ClickHouse objects. Which objects to drop or keep
 * is decided purely from the object's recorded status and its deletionPolicy (never from its source,
 * which may be gone already); dropping is thin I/O; and every deletion ends in one log line and one
 * Event saying what was dropped and what was kept, so a deletion that drops nothing is never silent.
 */
import { apiVersion } from "../../api/v1alpha1/resources.js";
import { qualifiedName } from "../../contracts/clickhouse/sql.js";
import type { EventRecorder } from "../../lib/kube/events.js";
import type { KubeClient, KubeObject, ResourceType } from "../../lib/kube/kube-client.js";
import type { ClickhouseCredentials, ClickhouseSession } from "../clickhouse/clickhouse-session.js";
import { clickhouseCredentials } from "./clickhouse-credentials.js";
import type { Logger } from "./logger.js";
import { apiWrites, clickhouseStatements } from "./metrics.js";
import { SecretNotFoundError } from "./secrets.js";

export type DeletionPolicy = "Retain" | "Delete";

export interface CleanupObject {
  readonly kind: "view" | "table";
  readonly database: string;
  readonly name: string;
  /** What it is, for the log and the Event: "raw table", "rollup view (version 2)", … */
  readonly role: string;
  readonly action: "drop" | "keep";
}

export interface CleanupPlan {
  readonly policy: DeletionPolicy;
  /** In drop order: views before the tables they write, so nothing writes into a dropped table. */
  readonly objects: readonly CleanupObject[];
}

export interface CleanupResult {
  readonly dropped: readonly CleanupObject[];
  readonly kept: readonly CleanupObject[];
  /** Objects to drop that did not exist (a staging table between migrations, a window table never created). */
  readonly absent: readonly CleanupObject[];
}

export type CleanupOutcome =
  | { readonly kind: "done"; readonly result: CleanupResult }
  /** ClickHouse cannot be reached for good (no Secret): what was to be dropped is left in place. */
  | { readonly kind: "skipped"; readonly why: string; readonly left: readonly CleanupObject[] };

/**
 * The spec's deletionPolicy, read without validating the rest of the spec: an object whose spec no
 * longer validates must still be deletable as its policy says. Absent or unknown means Retain.
 */
export function deletionPolicyOf(spec: unknown): DeletionPolicy {
  return (spec as { deletionPolicy?: unknown } | undefined)?.deletionPolicy === "Delete"
    ? "Delete"
    : "Retain";
}

export function renderDropStatement(object: CleanupObject): string {
  return `DROP ${object.kind === "view" ? "VIEW" : "TABLE"} IF EXISTS ${qualifiedName(object.database, object.name, object.role)}`;
}

function describeObjects(objects: readonly CleanupObject[]): string {
  return objects.length === 0
    ? "nothing"
    : objects.map((o) => `${o.role} ${o.database}.${o.name}`).join(", ");
}

/** The Event note and log message of a finished deletion. */
export function describeCleanup(policy: DeletionPolicy, outcome: CleanupOutcome): string {
  if (outcome.kind === "skipped") {
    return `deletionPolicy ${policy}, but ${outcome.why}: dropped nothing; left to drop by hand (where they exist): ${describeObjects(outcome.left)}`;
  }
  const { dropped, kept } = outcome.result;
  if (dropped.length === 0 && kept.length === 0) {
    return `deletionPolicy ${policy}: no ClickHouse objects had been created, so none were dropped`;
  }
  return `deletionPolicy ${policy}: dropped ${describeObjects(dropped)}; kept ${describeObjects(kept)}`;
}

/**
 * Carries out a plan. A plan that drops nothing needs no connection. A missing Secret skips the
 * drops (retrying cannot help, and namespace deletion removes Secrets first); an unreachable
 * ClickHouse throws, so the finalizer stays and the deletion is retried with backoff.
 */
export async function runCleanup(options: {
  readonly client: KubeClient;
  readonly namespace: string;
  /** The connection Secret recorded for the objects, and the field naming it (for errors); undefined when none was recorded. */
  readonly secret: { readonly name: string; readonly field: string } | undefined;
  readonly plan: CleanupPlan;
  readonly open: (credentials: ClickhouseCredentials) => ClickhouseSession;
  readonly controller: string;
}): Promise<CleanupOutcome> {
  const { plan } = options;
  const kept = plan.objects.filter((o) => o.action === "keep");
  const toDrop = plan.objects.filter((o) => o.action === "drop");
  if (toDrop.length === 0) return { kind: "done", result: { dropped: [], kept, absent: [] } };
  if (options.secret === undefined) {
    return { kind: "skipped", why: "no connection Secret is recorded", left: toDrop };
  }
  let credentials: ClickhouseCredentials;
  try {
    credentials = await clickhouseCredentials(
      options.client,
      options.namespace,
      options.secret.name,
      options.secret.field,
    );
  } catch (error) {
    if (!(error instanceof SecretNotFoundError)) throw error;
    return { kind: "skipped", why: error.message, left: toDrop };
  }
  const session = options.open(credentials);
  try {
    const dropped: CleanupObject[] = [];
    const absent: CleanupObject[] = [];
    for (const object of toDrop) {
      if (!(await session.tableExists(object.database, object.name))) {
        absent.push(object);
        continue;
      }
      await session.execute(renderDropStatement(object));
      clickhouseStatements.inc({ controller: options.controller });
      dropped.push(object);
    }
    return { kind: "done", result: { dropped, kept, absent } };
  } finally {
    await session.close();
  }
}

/** Adds the finalizer if missing (before the object creates anything); returns the object as stored. */
export async function ensureFinalizer<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  object: T,
  finalizer: string,
): Promise<T> {
  if (object.metadata?.finalizers?.includes(finalizer)) return object;
  const patched = await client.mergePatch<T>(type, object.metadata?.namespace, object.metadata?.name ?? "", {
    metadata: {
      finalizers: [...(object.metadata?.finalizers ?? []), finalizer],
      resourceVersion: object.metadata?.resourceVersion,
    },
  });
  apiWrites.inc({ kind: type.kind, verb: "patch" });
  return patched;
}

/** Reports a deletion (log line and Event) and removes the finalizer, letting the object go. */
export async function finishDeletion(options: {
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly log: Logger;
  readonly type: ResourceType;
  readonly object: KubeObject;
  readonly finalizer: string;
  readonly policy: DeletionPolicy;
  readonly outcome: CleanupOutcome;
  /** What else the deletion did outside ClickHouse (a Pipeline's live windows), for the same log line and Event. */
  readonly alsoDone?: string | undefined;
}): Promise<void> {
  const { object, outcome } = options;
  const tables = describeCleanup(options.policy, outcome);
  const note = options.alsoDone === undefined ? tables : `${tables}; ${options.alsoDone}`;
  const names = (objects: readonly CleanupObject[]) => objects.map((o) => `${o.database}.${o.name}`);
  if (outcome.kind === "done") {
    options.log.info(
      {
        policy: options.policy,
        dropped: names(outcome.result.dropped),
        kept: names(outcome.result.kept),
        absent: names(outcome.result.absent),
      },
      note,
    );
  } else {
    options.log.warn({ policy: options.policy }, note);
  }
  // An Event that cannot be written must not hold the deletion up; the log line has it all.
  await options.recorder
    .record(
      { ...object, apiVersion, kind: options.type.kind },
      outcome.kind === "done" ? "Normal" : "Warning",
      outcome.kind === "done" ? "CleanedUp" : "CleanupSkipped",
      "Delete",
      note,
    )
    .catch(() => undefined);
  const name = object.metadata?.name ?? "";
  await options.client.mergePatch(options.type, object.metadata?.namespace, name, {
    metadata: {
      finalizers: (object.metadata?.finalizers ?? []).filter((f) => f !== options.finalizer),
      resourceVersion: object.metadata?.resourceVersion,
    },
  });
  apiWrites.inc({ kind: options.type.kind, verb: "patch" });
}
