/**
 * Wires a pipeline worker together: settings → compiled plan → Kafka source, ClickHouse and Redis sinks,
 * dead-letter producer, metrics endpoint, signal handling. The edges are thin; the logic lives in
 * runtime/pipeline (pure) and runtime/source (the consumer protocol).
 */
import { createClient } from "@clickhouse/client";
import { Redis } from "ioredis";
import kafkajs from "kafkajs";
import { parseDuration } from "../../api/v1alpha1/duration.js";
import { kafkajsConnectionOptions } from "../../contracts/kafka/kafka-connection.js";
import type { Decoder } from "../decode/decoder.js";
import { envSchemaResolver } from "../decode/schema-source.js";
import { Enricher } from "../enrich/enricher.js";
import { createLookupSource } from "../enrich/lookups.js";
import { compilePipelinePlan, type PipelinePlan } from "../pipeline/pipeline-plan.js";
import { BenchDiscardingSink } from "../sinks/bench-discarding-sink.js";
import { ClickHouseSink } from "../sinks/clickhouse-sink.js";
import {
  type DeadLetterSink,
  loggingDeadLetterSink,
  transactionalDeadLetterSink,
} from "../sinks/dead-letter-sink.js";
import { RedisSink } from "../sinks/redis-sink.js";
import { ByteBudget } from "../source/byte-budget.js";
import { KafkaSource } from "../source/kafka-source.js";
import { startHttpServer } from "./http-server.js";
import { createLogger, type Logger } from "./logger.js";
import { RuntimeMetrics } from "./metrics.js";
import type { WorkerSettings } from "./settings.js";
import { testHooksFromEnv } from "./test-hooks.js";

type Env = Readonly<Record<string, string | undefined>>;

function kafkaLogCreator(log: Logger) {
  return () =>
    ({ level, log: entry }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...rest } = entry;
      const child = { lib: "kafkajs", ...rest };
      if (level <= kafkajs.logLevel.ERROR) log.error(child, message);
      else if (level === kafkajs.logLevel.WARN) log.warn(child, message);
      else log.debug(child, message);
    };
}

/**
 * Bench only (TALLY_BENCH_DISCARD_RESULTS): the plan with raw rows left unencoded (nothing is inserted) and
 * the decoder telling the discarding store when the first record arrives.
 */
function benchDiscardingPlan(plan: PipelinePlan, sink: BenchDiscardingSink): PipelinePlan {
  const inner = plan.decoder;
  const decoder = {
    ...inner,
    decode(value: Buffer | null) {
      sink.markRecord();
      return inner.decode(value);
    },
  } as Decoder;
  return {
    ...plan,
    decoder,
    rawEncoder: { columnList: plan.rawEncoder.columnList, encode() {} },
  };
}

interface RunningWorker {
  /** Drains and stops; resolves with whether everything was flushed within the grace period. */
  stop(): Promise<boolean>;
  readonly metricsPort: number | undefined;
}

export async function startPipelineWorker(
  settings: WorkerSettings,
  env: Env,
  onFatal: (error: unknown) => void,
): Promise<RunningWorker> {
  const compiled = compilePipelinePlan(settings.config, envSchemaResolver(env));
  const discard =
    settings.benchDiscardResultsPath === undefined
      ? undefined
      : { path: settings.benchDiscardResultsPath, sink: new BenchDiscardingSink() };
  const plan = discard === undefined ? compiled : benchDiscardingPlan(compiled, discard.sink);
  const labels = { namespace: plan.namespace, pipeline: plan.name, pod: settings.podName };
  const log = createLogger(labels);
  const metrics = new RuntimeMetrics(labels);
  const hooks = testHooksFromEnv(env);

  const kafka = new kafkajs.Kafka({
    clientId: `tally-runtime-${settings.podName}`,
    ...kafkajsConnectionOptions(settings.kafka),
    logLevel: kafkajs.logLevel.WARN,
    logCreator: kafkaLogCreator(log),
  });

  const clickhouse = createClient({
    url: settings.clickhouse.url,
    username: settings.clickhouse.username,
    password: settings.clickhouse.password,
    request_timeout: 60_000,
    max_open_connections: 8,
  });
  const sink = new ClickHouseSink(clickhouse, plan);
  if (settings.createTables && discard === undefined) {
    await sink.createTables();
    log.info({ tables: sink.tables }, "created the raw and window tables (--create-tables)");
  }

  let redis: Redis | undefined;
  if (settings.redisUrl !== undefined && discard === undefined) {
    redis = new Redis(settings.redisUrl, {
      // Fail fast while Redis is away (the sink resyncs later) instead of queueing without bound.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    });
    let lastLogged = 0;
    redis.on("error", (error: Error) => {
      if (Date.now() - lastLogged > 10_000) {
        lastLogged = Date.now();
        log.warn({ err: error.message }, "redis connection error");
      }
    });
  }

  const lookups = (plan.spec.enrich ?? []).map((e, i) =>
    createLookupSource(e, i, { redis, clickhouse, defaultDatabase: plan.spec.sink.clickhouse.database }),
  );
  const enricher = new Enricher(lookups, plan.mapper);

  const deadLetters: DeadLetterSink =
    discard !== undefined
      ? loggingDeadLetterSink(() => {})
      : plan.spec.deadLetter === undefined
        ? loggingDeadLetterSink((letter) =>
            log.warn(
              {
                topic: letter.origin.topic,
                partition: letter.origin.partition,
                offset: letter.origin.offset,
                kind: letter.kind,
                field: letter.field,
                window: letter.window,
              },
              `dead letter (no spec.deadLetter topic): ${letter.message}`,
            ),
          )
        : transactionalDeadLetterSink(kafka, {
            topic: plan.spec.deadLetter.topic,
            pipeline: `${plan.namespace}/${plan.name}`,
            consumerGroup: plan.consumerGroup,
            beforeCommit: (letters) => hooks.reached("before-dead-letter-commit", letters),
          });

  let source: KafkaSource | undefined;
  const redisSink =
    redis === undefined || plan.spec.sink.redis === undefined
      ? undefined
      : new RedisSink(
          redis,
          clickhouse,
          plan,
          parseDuration(plan.spec.sink.redis.ttl, "spec.sink.redis.ttl"),
          () => source?.assigned() ?? [],
          {
            onError: (error, context) => {
              metrics.redisErrors.inc({ context });
              log.warn(
                { err: error instanceof Error ? error.message : String(error), context },
                "redis write failed; live metrics will be resynced from ClickHouse",
              );
            },
            onRecovered: (shares) =>
              log.info({ shares }, "redis recovered; live metrics resynced from the window table"),
          },
        );

  const budget = new ByteBudget({
    budgetBytes: settings.budgetBytes,
    headroomBytes: Math.min(Math.floor(settings.budgetBytes / 8), 4 * 1024 * 1024),
    resumeFraction: 0.5,
  });
  source = new KafkaSource({
    kafka,
    plan,
    clickhouse: discard?.sink ?? sink,
    redis: redisSink,
    enricher,
    deadLetters,
    budget,
    metrics,
    hooks,
    log,
    now: Date.now,
    settings: {
      fetchMaxBytes: Math.max(1024 * 1024, Math.min(16 * 1024 * 1024, Math.floor(settings.budgetBytes / 4))),
      sessionTimeoutMs: settings.sessionTimeoutMs,
      rebalanceFlushMs: 20_000,
      onFatal,
    },
  });

  let metricsPort: number | undefined;
  let server: import("node:http").Server | undefined;
  let draining = false;
  if (settings.metricsPort !== undefined) {
    const started = await startHttpServer(settings.metricsHost, settings.metricsPort, metrics.registry, {
      healthy: () => true,
      ready: () => source?.ready === true && !draining,
    });
    server = started.server;
    metricsPort = started.port;
  }
  await source.start();
  log.info(
    {
      consumerGroup: plan.consumerGroup,
      topics: plan.topics,
      table: sink.tables.raw,
      metricsPort: metricsPort ?? null,
      budgetBytes: settings.budgetBytes,
    },
    "pipeline worker started",
  );

  const running = source;
  return {
    metricsPort,
    async stop() {
      draining = true;
      const started = Date.now();
      const { flushed } = await running.drain(settings.shutdownGraceMs);
      redis?.disconnect();
      await clickhouse.close().catch(() => {});
      server?.close();
      if (discard !== undefined) discard.sink.writeSummary(discard.path);
      log.info(
        { flushed, ms: Date.now() - started },
        flushed
          ? "drained: everything flushed and committed"
          : "drain timed out; uncommitted batches will be re-read by the next owner",
      );
      return flushed;
    },
  };
}
