/**
 * The gateway process: watches Pipelines, Rollups, Dashboards and the token Secrets, serves the query
 * API, the live stream, the web UI (/ui/) and the event collector (its Kafka producers are closed
 * after the last request in flight), and /healthz, /readyz, /metrics on their own port; with Redis (TALLY_GATEWAY_ALERTS) it also evaluates AlertRules.
 * Ready once the watches have listed. SIGTERM stops taking requests, lets running ones finish, releases
 * the alert shards' Leases, then closes the watches, the producers, ClickHouse and Redis.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { createClient } from "@clickhouse/client";
import { Redis } from "ioredis";
import { kubeEventRecorder } from "../lib/kube/events.js";
import { KubeClient } from "../lib/kube/kube-client.js";
import { AlertEvaluator } from "./alerts/alert-evaluator.js";
import { createFunnelService } from "./analytics/funnel-service.js";
import { createRetentionService } from "./analytics/retention-service.js";
import { createSessionsService } from "./analytics/sessions-service.js";
import { TokenSecrets } from "./auth/token-secrets.js";
import { ResultCache } from "./cache/result-cache.js";
import { Collector } from "./collect/collector.js";
import { KafkaEventSink } from "./collect/event-producer.js";
import { createQueryExporter } from "./export/query-export.js";
import { startHealthServer } from "./health-server.js";
import { buildApp } from "./http/app.js";
import { bundleBrowserEntry } from "./http/browser-bundle.js";
import { trackerEntry } from "./http/tracker-route.js";
import { createLogger } from "./logger.js";
import { gatewayMetrics } from "./metrics.js";
import { catalogueLookup } from "./query/catalogue-lookup.js";
import { createQueryService } from "./query/create-query-service.js";
import { settingsFromEnv } from "./settings.js";
import { SourceRegistry } from "./sources/source-registry.js";
import { readChangeTokens } from "./stream/change-token.js";
import { DashboardWatch } from "./stream/dashboard-watch.js";
import { defaultStreamSettings, StreamHub } from "./stream/stream-hub.js";
import { cachedResourceLister } from "./ui/resource-lister.js";
import { loadUiAssets } from "./ui/ui-assets.js";

const logger = createLogger();

async function main(): Promise<void> {
  const settings = settingsFromEnv(process.env);
  const client = KubeClient.fromEnvironment(process.env.KUBECONFIG);
  const registry = new SourceRegistry(client, { namespace: settings.watchNamespace, logger });
  const tokens = new TokenSecrets(client, settings.tokenSecrets, logger);
  if (settings.tokenSecrets.length === 0)
    logger.warn("TALLY_GATEWAY_TOKEN_SECRETS is empty: every API request will be refused with 401");
  const dashboards = new DashboardWatch(client, { namespace: settings.watchNamespace, logger });
  registry.start();
  tokens.start();
  dashboards.start();

  const clickhouse = createClient({
    url: settings.clickhouse.url,
    username: settings.clickhouse.username,
    password: settings.clickhouse.password,
    request_timeout: 30_000,
    max_open_connections: 16,
  });
  let redis: Redis | undefined;
  if (settings.redisUrl !== undefined) {
    redis = new Redis(settings.redisUrl, {
      // Fail fast while Redis is away (queries then run uncached) instead of queueing without bound.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    });
    let lastLogged = 0;
    redis.on("error", (error: Error) => {
      if (Date.now() - lastLogged > 10_000) {
        lastLogged = Date.now();
        logger.warn({ err: error.message }, "redis connection error");
      }
    });
  }
  const metrics = gatewayMetrics();
  const cache =
    settings.redisUrl === undefined
      ? undefined
      : new ResultCache({ redisUrl: settings.redisUrl, registry: metrics.registry, logger });
  const service = createQueryService({
    snapshot: (namespace) => registry.snapshot(namespace),
    clickhouse,
    redis,
    cache,
    logger,
    now: () => Date.now(),
  });

  let alerts: AlertEvaluator | undefined;
  if (settings.alerts !== undefined && redis !== undefined) {
    const identity = `${settings.alerts.podName ?? hostname()}_${randomBytes(4).toString("hex")}`;
    alerts = new AlertEvaluator({
      client,
      // Uncached: an alert must see the newest rows, and its ranges end at a different instant each time.
      query: createQueryService({
        snapshot: (namespace) => registry.snapshot(namespace),
        clickhouse,
        redis,
        cache: undefined,
        logger,
        now: () => Date.now(),
      }),
      snapshot: (namespace) => registry.snapshot(namespace),
      redis,
      recorder: kubeEventRecorder(client, "gateway", identity),
      logger,
      identity,
      leaseNamespace: settings.alerts.leaseNamespace,
      shards: settings.alerts.shards,
      concurrency: settings.alerts.concurrency,
      observer: metrics.alerts,
      watchNamespace: settings.watchNamespace,
      publicUrl: settings.alerts.publicUrl,
    });
    alerts.start();
    logger.info({ identity, leaseNamespace: settings.alerts.leaseNamespace }, "alert evaluator started");
  }

  const stream = new StreamHub({
    query: service,
    readTokens: redis === undefined ? undefined : (pipelines) => readChangeTokens(redis, pipelines),
    dashboards,
    sources: (namespace) => registry.snapshot(namespace),
    logger,
    now: () => Date.now(),
    settings: { ...defaultStreamSettings, ...settings.stream },
    observer: metrics.stream,
  });
  stream.start();

  const eventSink = new KafkaEventSink();
  const collector = new Collector({
    snapshot: (namespace) => registry.snapshot(namespace),
    sink: eventSink,
    logger,
    observe: metrics.collect,
  });
  const trackerScript = await bundleBrowserEntry(trackerEntry, "iife");
  const analyticsDeps = {
    snapshot: (namespace: string) => registry.snapshot(namespace),
    clickhouse,
    redis,
    cache,
    now: () => Date.now(),
  };
  const analytics = {
    retention: createRetentionService(analyticsDeps),
    sessions: createSessionsService(analyticsDeps),
    exportQuery: createQueryExporter({
      catalogue: catalogueLookup((namespace) => registry.snapshot(namespace)),
      clickhouse,
      service,
      now: () => Date.now(),
    }),
  };
  const app = await buildApp({
    service,
    collector,
    trackerScript,
    analytics,
    funnel: createFunnelService(analyticsDeps),
    // The status page: a namespace's objects listed at most every 2 s whatever the number of viewers.
    resources: cachedResourceLister(client, { ttlMs: 2_000, now: () => Date.now() }),
    ui: await loadUiAssets(),
    tokens: () => tokens.table(),
    rateLimitPerMinute: settings.rateLimitPerMinute,
    logger,
    observe: metrics.observe,
    stream,
  });
  let shuttingDown = false;
  const health = await startHealthServer({
    port: settings.metricsPort,
    host: settings.metricsHost,
    registry: metrics.registry,
    notReady: () =>
      shuttingDown
        ? "shutting down"
        : !registry.synced()
          ? "Pipelines and Rollups not listed yet"
          : !tokens.synced()
            ? "token Secrets not listed yet"
            : !dashboards.synced()
              ? "Dashboards not listed yet"
              : alerts !== undefined && !alerts.synced()
                ? "AlertRules not listed yet"
                : undefined,
  });
  await app.listen({ port: settings.port, host: settings.host });
  logger.info(
    {
      port: settings.port,
      metricsPort: settings.metricsPort,
      watchNamespace: settings.watchNamespace ?? "*",
    },
    "gateway listening",
  );

  async function shutdown(why: string): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ why }, "shutting down");
    stream.stop(); // ends the event streams, which would otherwise hold app.close() open
    await app.close(); // stops accepting, waits for requests in flight
    await alerts?.stop(); // releases the shard Leases: another replica takes them over at once
    await Promise.all([registry.stop(), tokens.stop(), dashboards.stop(), eventSink.close()]);
    await clickhouse.close();
    redis?.disconnect();
    await cache?.close();
    health.close();
    logger.info("stopped");
    process.exit();
  }
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  logger.fatal({ err: error instanceof Error ? error.message : String(error) }, "gateway failed to start");
  process.exit(1);
});
