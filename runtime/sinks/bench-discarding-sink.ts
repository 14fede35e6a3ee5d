/**
 * Bench only: the result store of a worker started with TALLY_BENCH_DISCARD_RESULTS=<file>
 * (test/bench/flink.bench.ts). The worker still decodes, validates, deduplicates, filters, computes every
 * window, cuts batches and commits offsets, but no raw row is encoded, nothing is inserted, Redis and the
 * dead-letter topic are left out: "windows computed, results discarded", the work a Flink job with a
 * discarding sink does. So the bench can still check the results, each partition's latest result per window
 * is kept (a few thousand windows) and written, with the CPU the process used from its first record to its
 * last batch, to <file> when the worker stops. Never use it in a pod: nothing reaches ClickHouse.
 */
import { writeFileSync } from "node:fs";
import {
  type WindowResult,
  type WindowUpsert,
  windowIdentity,
} from "../../contracts/windows/window-results.js";
import type { IdleAdvance, SealedBatch } from "../pipeline/partition-processor.js";
import type { RebuildRow } from "../pipeline/rebuild-range.js";
import type { ResultStore } from "./clickhouse-sink.js";

/** What the bench reads back (test/bench/flink.bench.ts). */
export interface BenchDiscardSummary {
  /** Messages in the batches seen (every offset from the first record on). */
  readonly messages: number;
  /** CPU (user + system, every thread) from the first record decoded to the last batch, in seconds. */
  readonly cpuSeconds: number;
  readonly wallMs: number;
  /** Each partition's latest upsert per window identity. */
  readonly partials: readonly (WindowUpsert & { readonly partition: number })[];
}

export class BenchDiscardingSink implements ResultStore {
  private first: { readonly cpu: NodeJS.CpuUsage; readonly wallMs: number } | undefined;
  private last: { readonly cpu: NodeJS.CpuUsage; readonly wallMs: number } | undefined;
  private messages = 0;
  private readonly latest = new Map<string, { readonly partition: number; readonly result: WindowResult }>();

  /** Called for every record the decoder sees; only the first one is timed. */
  readonly markRecord = (): void => {
    if (this.first === undefined) this.first = { cpu: process.cpuUsage(), wallMs: performance.now() };
  };

  async insert(batch: SealedBatch, table: "raw" | "windows"): Promise<void> {
    if (table === "raw") {
      this.messages += batch.lastOffset - batch.firstOffset + 1;
      return;
    }
    for (const result of batch.windowResults) {
      const key = `${batch.topic}[${batch.partition}]|${windowIdentity(result)}`;
      const current = this.latest.get(key);
      if (current === undefined || result.revision > current.result.revision)
        this.latest.set(key, { partition: batch.partition, result });
    }
    this.last = { cpu: process.cpuUsage(), wallMs: performance.now() };
  }

  /** Idle advances come after the bench's last record (it stops the worker before idleTimeout): not counted. */
  async insertIdleAdvance(_advance: IdleAdvance): Promise<void> {}

  /** Every bench run uses a fresh consumer group: there is nothing to rebuild. */
  async fetchRebuildRows(): Promise<RebuildRow[]> {
    return [];
  }

  async fetchMaxEventTime(): Promise<number> {
    return Number.NEGATIVE_INFINITY;
  }

  summary(): BenchDiscardSummary {
    const { first, last } = this;
    const measured = first !== undefined && last !== undefined;
    return {
      messages: this.messages,
      cpuSeconds: measured
        ? (last.cpu.user - first.cpu.user + (last.cpu.system - first.cpu.system)) / 1e6
        : 0,
      wallMs: measured ? last.wallMs - first.wallMs : 0,
      partials: [...this.latest.values()].flatMap(({ partition, result }) =>
        result.kind === "upsert" ? [{ ...result, partition }] : [],
      ),
    };
  }

  writeSummary(path: string): void {
    writeFileSync(path, JSON.stringify(this.summary()));
  }
}
