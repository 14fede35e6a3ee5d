import type { V1Pod } from "@kubernetes/client-node";

/**
 * Which pods should have a local process, and what to start and stop to get there. Pure: the
 * pod-runner feeds it the pods it watches and the processes it runs.
 */

export const componentLabel = "tally.dev/component";

/** The kubelet's default when a pod does not say. */
const defaultGraceSeconds = 30;

interface DesiredProcess {
  /** `<namespace>/<name>`. */
  readonly key: string;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly component: string;
}

interface RunningProcess {
  readonly key: string;
  readonly uid: string;
}

export function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
}

/**
 * A pod gets a process while it is Running (kwok reports that once it is scheduled) and not being
 * deleted, and only when its component has an entry point (in its namespace).
 */
export function desiredProcesses(
  pods: Iterable<V1Pod>,
  hasEntrypoint: (namespace: string, component: string) => boolean,
): Map<string, DesiredProcess> {
  const desired = new Map<string, DesiredProcess>();
  for (const pod of pods) {
    const component = pod.metadata?.labels?.[componentLabel];
    const namespace = pod.metadata?.namespace;
    const name = pod.metadata?.name;
    const uid = pod.metadata?.uid;
    if (!component || !namespace || !name || !uid) continue;
    if (!hasEntrypoint(namespace, component)) continue;
    if (pod.status?.phase !== "Running" || pod.metadata?.deletionTimestamp) continue;
    desired.set(podKey(pod), { key: podKey(pod), uid, namespace, name, component });
  }
  return desired;
}

interface ProcessDiff {
  readonly start: DesiredProcess[];
  /** Running processes whose pod is gone, no longer Running, or was replaced by one of the same name. */
  readonly stop: RunningProcess[];
}

export function diffProcesses(
  desired: ReadonlyMap<string, DesiredProcess>,
  running: Iterable<RunningProcess>,
): ProcessDiff {
  const stop: RunningProcess[] = [];
  const kept = new Set<string>();
  for (const process of running) {
    if (desired.get(process.key)?.uid === process.uid) {
      kept.add(process.key);
    } else {
      stop.push(process);
    }
  }
  const start = [...desired.values()].filter((d) => !kept.has(d.key));
  return { start, stop };
}

/**
 * How long a stopping process gets between SIGTERM and SIGKILL: the deletion's grace period when
 * the pod is being deleted with one (`kubectl delete --grace-period=5`), else the pod's
 * terminationGracePeriodSeconds. A deletion grace of 0 is what kwok's pod-delete stage leaves on
 * the pod it removes at once, so it does not cut the process's grace short.
 */
export function graceSeconds(pod: V1Pod | undefined): number {
  const configured = pod?.spec?.terminationGracePeriodSeconds ?? defaultGraceSeconds;
  const deletion = pod?.metadata?.deletionGracePeriodSeconds;
  return deletion !== undefined && deletion !== null && deletion > 0 ? deletion : configured;
}

/** Restart delay after the nth consecutive quick exit (0-based): 1 s, 2 s, 4 s, 8 s, then 10 s. */
export function restartDelayMs(consecutiveFailures: number): number {
  return Math.min(1000 * 2 ** consecutiveFailures, 10_000);
}
