/**
 * The operator process: health and metrics server, leader election, and — while leading — the
 * Pipeline, Rollup, AlertRule and Dashboard controllers and the autoscaler loop. SIGTERM stops taking
 * work, lets running reconciles finish and releases the lease so a standby replica takes over at once.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { hostname } from "node:os";
import { kubeEventRecorder } from "../lib/kube/events.js";
import { KubeClient, type KubeObject } from "../lib/kube/kube-client.js";
import { ensureLeaseNamespace, LeaderElector } from "../lib/kube/leader-election.js";
import { alertRuleControllerDefinition } from "./alert-rule/alert-rule-controller.js";
import { autoscalerControllerDefinition } from "./autoscaler/autoscaler-controller.js";
import { cachedHpaLister } from "./autoscaler/hpa-stand-down.js";
import { OffsetSampler } from "./autoscaler/offset-sampler.js";
import { type ControllerDefinition, ControllerRunner } from "./core/controller.js";
import { logger } from "./core/logger.js";
import { apiWrites, isLeader, registry } from "./core/metrics.js";
import { dashboardControllerDefinition } from "./dashboard/dashboard-controller.js";
import { pipelineControllerDefinition } from "./pipeline/pipeline-controller.js";
import { rollupControllerDefinition } from "./rollup/rollup-controller.js";

interface OperatorSettings {
  readonly namespace: string;
  readonly watchNamespace: string | undefined;
  readonly identity: string;
  readonly port: number;
  readonly runtimeImage: string;
  readonly version: string;
  readonly leaseDurationMs: number;
  /** Overrides each controller's resync period (tests shorten it). */
  readonly resyncMs: number | undefined;
  /** Time between two autoscaler rounds for one Pipeline. */
  readonly autoscalerIntervalMs: number;
  readonly autoscalerPodStartMs: number | undefined;
}

function optionalPositiveMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name}=${raw} is not a positive number of milliseconds`);
  return value;
}

function settingsFromEnv(env: NodeJS.ProcessEnv): OperatorSettings {
  const port = Number(env.TALLY_METRICS_PORT ?? "8080");
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`TALLY_METRICS_PORT=${env.TALLY_METRICS_PORT} is not a port`);
  return {
    namespace: env.TALLY_OPERATOR_NAMESPACE ?? "tally-system",
    watchNamespace: env.TALLY_WATCH_NAMESPACE || undefined,
    identity: `${env.TALLY_POD_NAME ?? hostname()}_${randomBytes(4).toString("hex")}`,
    port,
    runtimeImage: env.TALLY_RUNTIME_IMAGE ?? "tally-runtime:0.1.0",
    version: env.TALLY_VERSION ?? "0.1.0",
    leaseDurationMs: optionalPositiveMs(env, "TALLY_LEASE_DURATION_MS") ?? 15_000,
    resyncMs: optionalPositiveMs(env, "TALLY_RESYNC_MS"),
    autoscalerIntervalMs: optionalPositiveMs(env, "TALLY_AUTOSCALER_INTERVAL_MS") ?? 5_000,
    autoscalerPodStartMs: optionalPositiveMs(env, "TALLY_AUTOSCALER_POD_START_MS"),
  };
}

async function main(): Promise<void> {
  const settings = settingsFromEnv(process.env);
  const client = KubeClient.fromEnvironment(process.env.KUBECONFIG);
  // Campaigning in a namespace that does not exist would fail forever; say so once instead.
  const leaseNamespace = await ensureLeaseNamespace(client, settings.namespace);
  if (leaseNamespace.kind === "missing") {
    throw new Error(
      `namespace ${settings.namespace} (TALLY_OPERATOR_NAMESPACE, where the leader-election lease lives) does not exist and this identity may not create it: run \`kubectl create namespace ${settings.namespace}\` or set TALLY_OPERATOR_NAMESPACE to an existing namespace (${leaseNamespace.reason})`,
    );
  }
  if (leaseNamespace.kind === "created")
    logger.info({ namespace: settings.namespace }, "created the leader-election lease namespace");
  const recorder = kubeEventRecorder(client, "operator", settings.identity, () =>
    apiWrites.inc({ kind: "Event", verb: "create" }),
  );
  const now = () => new Date();
  const sampler = new OffsetSampler();
  const definitions: ControllerDefinition<KubeObject>[] = [
    pipelineControllerDefinition({
      client,
      recorder,
      now,
      settings: { image: settings.runtimeImage, version: settings.version, metricsPort: 9464 },
    }),
    rollupControllerDefinition({ client, recorder, now }),
    alertRuleControllerDefinition({ client, recorder, now }),
    dashboardControllerDefinition({ client, recorder, now }),
    autoscalerControllerDefinition({
      client,
      recorder,
      sampler,
      hpas: cachedHpaLister(client, 15_000, Date.now),
      now: Date.now,
      intervalMs: settings.autoscalerIntervalMs,
      podStartMs: settings.autoscalerPodStartMs,
    }),
  ];
  const runners = definitions.map(
    (definition) =>
      new ControllerRunner(
        client,
        { ...definition, resyncMs: settings.resyncMs ?? definition.resyncMs },
        settings.watchNamespace,
      ),
  );
  let controllersReady = false;
  let shuttingDown = false;

  const server = createServer((request, response) => {
    if (request.url === "/healthz") {
      response.end("ok\n");
    } else if (request.url === "/readyz") {
      const ready = !shuttingDown && (controllersReady || !elector.isLeader());
      response.statusCode = ready ? 200 : 503;
      response.end(ready ? "ok\n" : "not ready\n");
    } else if (request.url === "/metrics") {
      registry.metrics().then(
        (text) => {
          response.setHeader("content-type", registry.contentType);
          response.end(text);
        },
        (error: unknown) => {
          response.statusCode = 500;
          response.end(String(error));
        },
      );
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  server.listen(settings.port, () =>
    logger.info({ port: settings.port, identity: settings.identity }, "operator listening"),
  );

  const elector: LeaderElector = new LeaderElector(client, {
    namespace: settings.namespace,
    name: "tally-operator-leader",
    identity: settings.identity,
    leaseDurationMs: settings.leaseDurationMs,
    renewDeadlineMs: Math.round(settings.leaseDurationMs * 0.66),
    retryPeriodMs: Math.round(settings.leaseDurationMs / 7.5),
    onStartedLeading: () => {
      isLeader.set(1);
      logger.info({ identity: settings.identity }, "became leader; starting controllers");
      Promise.all(runners.map((r) => r.start())).then(
        () => {
          controllersReady = true;
          logger.info("controllers synced");
        },
        (error: unknown) => {
          logger.error({ err: String(error) }, "controllers failed to start; exiting");
          process.exitCode = 1;
          void shutdown("start failure");
        },
      );
    },
    onStoppedLeading: () => {
      isLeader.set(0);
      if (!shuttingDown) {
        // Another replica leads now; stop acting at once and restart clean as a candidate.
        logger.warn("lost leadership; exiting");
        process.exitCode = 1;
        void shutdown("lost leadership");
      }
    },
    onError: (error) =>
      logger.warn({ err: error instanceof Error ? error.message : String(error) }, "leader election"),
  });
  elector.start();

  async function shutdown(why: string): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ why }, "shutting down");
    await Promise.all(runners.map((r) => r.stop()));
    await sampler.close();
    await elector.stop();
    server.close();
    logger.info("stopped");
    process.exit();
  }
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  logger.fatal({ err: error instanceof Error ? error.message : String(error) }, "operator failed to start");
  process.exit(1);
});
