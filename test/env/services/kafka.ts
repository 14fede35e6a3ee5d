import { existsSync, readdirSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import kafkajs from "kafkajs";
import { kafkaBrokers, stackConfig, stackPaths } from "../config.js";
import { runCommand } from "../run-command.js";
import type { ServiceSpec } from "../service.js";

/**
 * Apache Kafka 4.1 (jars from Maven Central, see test/env/kafka/pom.xml), single-node KRaft:
 * one process is both controller and broker. kafkajs 2.2.4 was tested against it for produce,
 * consumer groups, admin offsets, the idempotent producer and transactions
 * (test/integration/kafka.int.test.ts), so the 4.x line is kept rather than falling back to 3.9.
 */
const configDir = join(stackConfig.stateDir, "kafka");
const dataDir = join(stackPaths.data, "kafka");
const serverProperties = join(configDir, "server.properties");
const log4jProperties = join(configDir, "log4j2.properties");
const classpath = `${stackPaths.kafkaLibs}/*`;
// Fixed so re-formatting a wiped data dir yields the same cluster; any base64 UUID works.
const clusterId = "dGFsbHktbG9jYWwtc3RhYw";

function javaArgs(mainClass: string, ...args: string[]): string[] {
  return ["-cp", classpath, `-Dlog4j2.configurationFile=${log4jProperties}`, mainClass, ...args];
}

export const kafkaService: ServiceSpec = {
  name: "kafka",
  address: `${stackConfig.host}:${stackConfig.kafkaPort} (controller ${stackConfig.kafkaControllerPort})`,
  ports: [stackConfig.kafkaPort, stackConfig.kafkaControllerPort],
  readyTimeoutMs: 90_000,
  stopGraceMs: 30_000,
  async checkInstalled() {
    const present =
      existsSync(stackPaths.kafkaLibs) &&
      readdirSync(stackPaths.kafkaLibs).some((f) => f.startsWith("kafka_2.13-"));
    return present ? undefined : `Kafka jars are missing from ${stackPaths.kafkaLibs}`;
  },
  async prepare() {
    await mkdir(configDir, { recursive: true });
    await mkdir(dataDir, { recursive: true });
    const listener = `${stackConfig.host}:${stackConfig.kafkaPort}`;
    const controller = `${stackConfig.host}:${stackConfig.kafkaControllerPort}`;
    await writeFile(
      serverProperties,
      [
        "process.roles=broker,controller",
        "node.id=1",
        `controller.quorum.voters=1@${controller}`,
        `listeners=PLAINTEXT://${listener},CONTROLLER://${controller}`,
        `advertised.listeners=PLAINTEXT://${listener}`,
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name=PLAINTEXT",
        `log.dirs=${dataDir}`,
        "num.partitions=1",
        "auto.create.topics.enable=true",
        // One broker: internal topics cannot have more replicas than that.
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        // Tests start and stop consumers often; do not make each join wait 3 s.
        "group.initial.rebalance.delay.ms=0",
        "",
      ].join("\n"),
    );
    await writeFile(
      log4jProperties,
      [
        "rootLogger.level=INFO",
        "rootLogger.appenderRef.stdout.ref=STDOUT",
        "appender.stdout.type=Console",
        "appender.stdout.name=STDOUT",
        "appender.stdout.layout.type=PatternLayout",
        "appender.stdout.layout.pattern=[%d] %p %m (%c)%n",
        "logger.kafka.name=kafka",
        "logger.kafka.level=WARN",
        "logger.apache.name=org.apache.kafka",
        "logger.apache.level=WARN",
        "",
      ].join("\n"),
    );
    if (!existsSync(join(dataDir, "meta.properties"))) {
      await runCommand(
        "java",
        javaArgs("kafka.tools.StorageTool", "format", "-t", clusterId, "-c", serverProperties),
      );
    }
  },
  command() {
    return { file: "java", args: ["-Xms256m", "-Xmx1g", ...javaArgs("kafka.Kafka", serverProperties)] };
  },
  async isReady() {
    const kafka = new kafkajs.Kafka({
      brokers: kafkaBrokers,
      clientId: "tally-stack-probe",
      logLevel: kafkajs.logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 2000,
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      // Ready means consumer groups work too: this needs the group coordinator, which loads
      // __consumer_offsets a moment after the broker starts listening.
      await admin.fetchOffsets({ groupId: "tally-stack-probe", topics: [] });
      return true;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },
};
