/**
 * A pipeline's data as the gateway finds it, made on the local stack: the example clickstream pipeline
 * and its three example rollups (minute → hour → day, created from their DDL before any event arrives),
 * a generated clickstream run through a real runtime worker, and the Pipeline and Rollup objects with the
 * status the operator would have written (Ready, serving tables). Used by the gateway's tests and bench.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import { Redis } from "ioredis";
import { parseAllDocuments } from "yaml";
import type { PipelineObject, RollupObject } from "../../api/v1alpha1/objects.js";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import type { RollupSpec } from "../../api/v1alpha1/rollup.js";
import { formatProblems, validateRollupSpec } from "../../api/v1alpha1/validation.js";
import { renderRawTableDdl } from "../../contracts/clickhouse/raw-table-ddl.js";
import {
  type RawSource,
  type RollupSource,
  renderDropRollupVersion,
  renderRollupDdl,
  rollupTableName,
} from "../../contracts/clickhouse/rollup-ddl.js";
import { qualifiedName } from "../../contracts/clickhouse/sql.js";
import { renderWindowTableDdl, windowTableName } from "../../contracts/clickhouse/window-table-ddl.js";
import { redisPrefix, shareField, watermarksKey } from "../../contracts/redis/live-windows.js";
import { redisUrl, stackConfig } from "../env/config.js";
import { generateClickstream } from "./clickstream-generator.js";
import { eventually } from "./eventually.js";
import {
  createTopics,
  pipelineManifest,
  planOf,
  produce,
  type RuntimeTestNames,
  readDeadLetters,
  runtimeTestNames,
  WorkerProcess,
  waitForCommitted,
  writeManifest,
} from "./runtime-harness.js";

export interface GatewayDataset {
  readonly names: RuntimeTestNames;
  readonly spec: PipelineSpec;
  readonly pipeline: PipelineObject;
  readonly rollups: readonly RollupObject[];
  /** Midnight (UTC) of the first day with events; events run from about 1 h after it for `hours`. */
  readonly dayStartMs: number;
  readonly rawTable: string;
  /** Per window, `(partition, offset)` of the raw events it refused as too late (its dead letters). */
  readonly lateForWindow: ReadonlyMap<string, readonly (readonly [number, number])[]>;
}

interface DatasetOptions {
  readonly partitions?: number;
  readonly perPartition?: number;
  readonly spacingMs?: number;
  readonly seed?: number;
}

const ready = [
  { type: "Ready", status: "True" as const, reason: "Ready", message: "", lastTransitionTime: "" },
];

function exampleRollups(pipeline: string): { name: string; spec: RollupSpec }[] {
  const text = readFileSync(resolve(stackConfig.repoRoot, "examples", "clickstream-rollups.yaml"), "utf8");
  return parseAllDocuments(text).map((doc) => {
    const manifest = doc.toJS() as {
      metadata: { name: string };
      spec: { source: { kind: string; name: string } };
    };
    if (manifest.spec.source.kind === "Pipeline") manifest.spec.source.name = pipeline;
    const checked = validateRollupSpec(manifest.spec);
    if (!checked.ok) throw new Error(formatProblems(checked.problems));
    return { name: manifest.metadata.name, spec: checked.value };
  });
}

/**
 * The example rollups (minute → hour → day) over a pipeline's raw table: their tables and views made
 * from their DDL (version 1, cut-over at the epoch, so made before the first insert they see every row),
 * and the Rollup objects with the status the operator would write (Ready, serving table).
 */
export async function createExampleRollups(
  clickhouse: ClickHouseClient,
  namespace: string,
  pipeline: string,
  raw: RawSource,
): Promise<RollupObject[]> {
  const rollups: RollupObject[] = [];
  const built = new Map<string, RollupSource>();
  for (const { name, spec: rollupSpec } of exampleRollups(pipeline)) {
    const parent = rollupSpec.source.kind === "Rollup" ? built.get(rollupSpec.source.name) : undefined;
    const ddl = renderRollupDdl({
      namespace,
      name,
      spec: rollupSpec,
      version: 1,
      raw,
      ...(parent === undefined ? {} : { parent }),
      cutoff: new Date(0),
    });
    await clickhouse.command({ query: ddl.createTable });
    await clickhouse.command({ query: ddl.createView });
    built.set(name, {
      spec: rollupSpec,
      table: ddl.table,
      inheritedFilters: [...(parent?.inheritedFilters ?? []), ...(rollupSpec.filter ?? [])],
    });
    rollups.push({
      apiVersion: "tally.dev/v1alpha1",
      kind: "Rollup",
      metadata: { name, namespace, resourceVersion: "1" },
      spec: rollupSpec,
      status: {
        conditions: ready,
        database: ddl.database,
        table: rollupTableName(namespace, name, 1),
        view: ddl.view,
        servingVersion: 1,
        granularity: rollupSpec.granularity,
      },
    });
  }
  return rollups;
}

export async function loadGatewayDataset(
  clickhouse: ClickHouseClient,
  label: string,
  options: DatasetOptions = {},
): Promise<GatewayDataset> {
  const partitions = options.partitions ?? 3;
  // A namespace of its own: rollup table names derive from namespace and name.
  const names = runtimeTestNames(label, `gw-${label}-${randomUUID().slice(0, 8)}`);
  const manifest = pipelineManifest(names, (spec) => {
    spec.windows = spec.windows?.filter((w) => w.type !== "session");
  });
  const plan = planOf(manifest);
  const spec = plan.spec;
  const raw = {
    database: spec.sink.clickhouse.database,
    table: spec.sink.clickhouse.table,
    eventTimeField: spec.eventTime.field,
    fields: new Map(spec.fields.map((f) => [f.name, { type: f.type, nullable: f.nullable }])),
  };
  for (const statement of [...renderRawTableDdl(spec).statements, ...renderWindowTableDdl(spec).statements])
    await clickhouse.command({ query: statement });

  // The rollups exist before the first insert, so their views see every row (cut-over at the epoch).
  const rollups = await createExampleRollups(clickhouse, names.namespace, names.pipeline, raw);

  // Three days ago at midnight UTC, so day, hour and minute buckets all hold data and are settled.
  const dayStartMs = Math.floor((Date.now() - 3 * 86_400_000) / 86_400_000) * 86_400_000;
  const produced = generateClickstream({
    seed: options.seed ?? 42,
    partitions,
    perPartition: options.perPartition ?? 1_500,
    startMs: dayStartMs + 3_600_000,
    spacingMs: options.spacingMs ?? 100_000,
    usersPerPartition: 60,
  });
  await createTopics(names, partitions);
  await produce(names.topic, produced);
  const worker = WorkerProcess.start(writeManifest(manifest), `gw-${label}`, {}, []);
  try {
    await waitForCommitted(
      names,
      produced.map((messages) => messages.length),
      180_000,
    );
    // The runtime publishes to Redis after it commits (fire and forget): wait until every partition's
    // watermark there is past the first day of data, or the first day's ranges would count as open.
    await waitForRedisWatermarks(names, partitions, dayStartMs + 25 * 3_600_000);
  } finally {
    await worker.stop();
  }
  const lateForWindow = new Map<string, [number, number][]>();
  for (const letter of await readDeadLetters(names.deadLetterTopic)) {
    if (letter.kind !== "late" || letter.window === undefined) continue;
    lateForWindow.set(letter.window, [
      ...(lateForWindow.get(letter.window) ?? []),
      [letter.partition, letter.offset],
    ]);
  }
  return {
    lateForWindow,
    names,
    spec,
    pipeline: {
      apiVersion: "tally.dev/v1alpha1",
      kind: "Pipeline",
      metadata: { name: names.pipeline, namespace: names.namespace, resourceVersion: "1" },
      spec,
      status: { conditions: ready },
    },
    rollups,
    dayStartMs,
    rawTable: `${raw.database}.${raw.table}`,
  };
}

/** Drops what loadGatewayDataset created in ClickHouse (views first, so nothing writes on). */
export async function dropGatewayDataset(
  clickhouse: ClickHouseClient,
  dataset: GatewayDataset,
): Promise<void> {
  const { database, table } = dataset.spec.sink.clickhouse;
  for (const rollup of dataset.rollups) {
    const rollupTable = rollup.status?.table;
    if (rollupTable !== undefined)
      for (const statement of renderDropRollupVersion(database, rollupTable))
        await clickhouse.command({ query: statement });
  }
  for (const name of [table, windowTableName(table)])
    await clickhouse.command({ query: `DROP TABLE IF EXISTS ${qualifiedName(database, name, "test")}` });
}

async function waitForRedisWatermarks(
  names: { readonly namespace: string; readonly pipeline: string; readonly topic: string },
  partitions: number,
  atLeastMs: number,
): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    await eventually(async () => {
      const byPartition = await redis.hgetall(watermarksKey(redisPrefix(names.namespace, names.pipeline)));
      for (let p = 0; p < partitions; p++) {
        const watermark = Number(byPartition[shareField(names.topic, p)]);
        if (!(watermark >= atLeastMs))
          throw new Error(
            `partition ${p}'s watermark in Redis is ${byPartition[shareField(names.topic, p)]}`,
          );
      }
    }, 60_000);
  } finally {
    redis.disconnect();
  }
}
