/**
 * The worker's Prometheus metrics (prom-client), on its own registry with the pipeline as default
 * labels. The autoscaler reads tally_runtime_processing_rate and tally_runtime_partition_lag; the rest
 * explain what a pipeline is doing (and the integration tests read them to prove the byte budget held).
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { BatchCounters } from "../pipeline/partition-processor.js";

export class RuntimeMetrics {
  readonly registry = new Registry();
  readonly eventsIn: Counter;
  readonly eventsOut: Counter;
  readonly eventsInvalid: Counter<"kind">;
  readonly eventsFiltered: Counter;
  readonly eventsDeduplicated: Counter;
  readonly eventsLateAccepted: Counter<"window">;
  readonly eventsLateDropped: Counter<"window">;
  readonly batchRows: Histogram;
  readonly batchBytes: Histogram;
  readonly batchLatency: Histogram;
  readonly insertLatency: Histogram<"table">;
  readonly sinkRetries: Counter<"step">;
  readonly deadLetters: Counter;
  readonly partitionLag: Gauge<"topic" | "partition">;
  readonly watermarkDelay: Gauge<"topic" | "partition">;
  readonly pipelineWatermark: Gauge;
  readonly processingRate: Gauge;
  readonly bufferedBytes: Gauge;
  readonly bufferedBytesMax: Gauge;
  readonly bufferBudget: Gauge;
  readonly pausedPartitions: Gauge;
  readonly assignedPartitions: Gauge;
  readonly openWindowKeys: Gauge;
  readonly rebuilds: Counter;
  readonly rebuildRows: Counter;
  readonly redisErrors: Counter<"context">;
  private rateWindowStart = Date.now();
  private rateWindowEvents = 0;

  constructor(labels: { readonly namespace: string; readonly pipeline: string; readonly pod: string }) {
    this.registry.setDefaultLabels(labels);
    const registers = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Counter<L>({ name: `tally_runtime_${name}`, help, labelNames, registers });
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Gauge<L>({ name: `tally_runtime_${name}`, help, labelNames, registers });
    this.eventsIn = counter("events_in_total", "Messages consumed from Kafka and processed.");
    this.eventsOut = counter("events_out_total", "Events written to the raw table.");
    this.eventsInvalid = counter(
      "events_invalid_total",
      "Messages sent to the dead-letter topic, by failure kind.",
      ["kind"],
    );
    this.eventsFiltered = counter("events_filtered_total", "Events dropped by a CEL filter.");
    this.eventsDeduplicated = counter(
      "events_deduplicated_total",
      "Events dropped as duplicates of an earlier event id.",
    );
    this.eventsLateAccepted = counter(
      "events_late_accepted_total",
      "Events behind the watermark that still updated a window (within allowed lateness).",
      ["window"],
    );
    this.eventsLateDropped = counter(
      "events_late_dropped_total",
      "Events too late for a window (beyond allowed lateness): counted and sent to the late side output.",
      ["window"],
    );
    this.batchRows = new Histogram({
      name: "tally_runtime_batch_rows",
      help: "Raw rows per insert batch.",
      buckets: [1, 10, 100, 500, 1000, 5000, 10_000, 50_000],
      registers,
    });
    this.batchBytes = new Histogram({
      name: "tally_runtime_batch_bytes",
      help: "Bytes per batch (raw and window rows, dead letters).",
      buckets: [1e3, 1e4, 1e5, 1e6, 1e7, 1e8],
      registers,
    });
    this.batchLatency = new Histogram({
      name: "tally_runtime_batch_latency_seconds",
      help: "From a batch's first message being processed to its offsets being committed (durable).",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    this.insertLatency = new Histogram<"table">({
      name: "tally_runtime_insert_seconds",
      help: "ClickHouse insert duration by table.",
      labelNames: ["table"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers,
    });
    this.sinkRetries = counter("sink_retries_total", "Failed sink steps that were retried, by step.", [
      "step",
    ]);
    this.deadLetters = counter(
      "dead_letters_total",
      "Records produced to the dead-letter topic (late side output included).",
    );
    this.partitionLag = gauge(
      "partition_lag",
      "Messages between the partition's end and the next offset processed.",
      ["topic", "partition"],
    );
    this.watermarkDelay = gauge(
      "watermark_delay_seconds",
      "Wall clock minus the partition's event-time watermark.",
      ["topic", "partition"],
    );
    this.pipelineWatermark = gauge(
      "pipeline_watermark_seconds",
      "The worker's watermark: the minimum over its active partitions (idle ones excluded), epoch seconds.",
    );
    this.processingRate = gauge("processing_rate", "Messages processed per second (10 s window).");
    this.bufferedBytes = gauge(
      "buffered_bytes",
      "Bytes of buffered data not yet durable (open and sealed batches).",
    );
    this.bufferedBytesMax = gauge("buffered_bytes_max", "The highest buffered_bytes observed since start.");
    this.bufferBudget = gauge("buffer_budget_bytes", "The byte budget for buffered data.");
    this.pausedPartitions = gauge(
      "paused_partitions",
      "Partitions paused because the byte budget is used up.",
    );
    this.assignedPartitions = gauge("assigned_partitions", "Partitions assigned to this worker.");
    this.openWindowKeys = gauge("open_window_keys", "Window cells and sessions holding state.");
    this.rebuilds = counter("rebuilds_total", "Partition states rebuilt from the raw table on assignment.");
    this.rebuildRows = counter("rebuild_rows_total", "Raw rows replayed to rebuild partition states.");
    this.redisErrors = counter("redis_errors_total", "Failed Redis writes or resyncs.", ["context"]);
  }

  recordCounters(c: BatchCounters): void {
    this.eventsIn.inc(c.in);
    this.eventsOut.inc(c.out);
    for (const [kind, n] of Object.entries(c.invalidByKind)) this.eventsInvalid.inc({ kind }, n);
    if (c.filtered > 0) this.eventsFiltered.inc(c.filtered);
    if (c.deduplicated > 0) this.eventsDeduplicated.inc(c.deduplicated);
    for (const [window, n] of Object.entries(c.lateAccepted)) this.eventsLateAccepted.inc({ window }, n);
    for (const [window, n] of Object.entries(c.lateDropped)) this.eventsLateDropped.inc({ window }, n);
    this.rateWindowEvents += c.in;
  }

  /** Updates the processing-rate gauge; call periodically. */
  tickRate(nowMs: number): void {
    const elapsed = nowMs - this.rateWindowStart;
    if (elapsed < 10_000) return;
    this.processingRate.set((this.rateWindowEvents * 1000) / elapsed);
    this.rateWindowStart = nowMs;
    this.rateWindowEvents = 0;
  }
}
