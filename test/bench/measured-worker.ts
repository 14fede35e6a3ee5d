/** A runtime worker process measured as a pod would run: the whole path's events per CPU-second. */
import {
  type RuntimeTestNames,
  WorkerProcess,
  waitForCommitted,
  writeManifest,
} from "../support/runtime-harness.js";
import { perSecond } from "./bench-figure.js";
import { cpuSeconds } from "./process-cpu.js";

/**
 * Starts a worker for the pipeline (from `checkout`, by default this one); `measure` waits until it has
 * committed everything and answers its events per CPU-second (every thread of the process) and per
 * wall-second, counted from the group assignment on, as the bare consumer is (start-up, loading and
 * table creation excluded).
 */
export async function startMeasuredWorker(
  names: RuntimeTestNames,
  manifest: string,
  label: string,
  checkout?: string,
) {
  const worker = WorkerProcess.start(writeManifest(manifest), label, {}, undefined, checkout);
  const pid = worker.child.pid;
  if (pid === undefined) throw new Error("worker has no pid");
  for (;;) {
    if (worker.exit !== undefined) throw new Error(`worker exited:\n${worker.tail()}`);
    const port = await worker.metricsPort().catch(() => undefined);
    if (port !== undefined && (await worker.metric("tally_runtime_assigned_partitions")) > 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  return {
    worker,
    async measure(counts: readonly number[]): Promise<{ perCore: number; wall: number }> {
      await waitForCommitted(names, counts, 600_000);
      const wallMs = performance.now() - t0;
      const total = counts.reduce((sum, n) => sum + n, 0);
      return { perCore: total / (cpuSeconds(pid) - cpu0), wall: perSecond(total, wallMs) };
    },
  };
}
