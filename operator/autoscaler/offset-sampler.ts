/**
 * Samples a pipeline's consumer group through the Kafka admin API: every partition's end offset (high
 * watermark) and the group's committed offset. One admin client per pipeline, because kafkajs keeps
 * every topic it was ever asked about in its metadata requests: a pipeline naming a topic that does
 * not exist must not break the sampling of the others. A client that failed is dropped and the next
 * sample connects afresh.
 */
import kafkajs from "kafkajs";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { type CommitMetadata, parseCommitMetadata } from "../../contracts/kafka/commit-metadata.js";
import { type KafkaConnection, kafkajsConnectionOptions } from "../../contracts/kafka/kafka-connection.js";
import { kafkaSaslSecretKeys } from "../../contracts/runtime-env.js";
import type { KubeClient } from "../../lib/kube/kube-client.js";
import { readSecretKeys } from "../core/secrets.js";
import type { OffsetSample, PartitionOffsets } from "./signals.js";

/** The spec's Kafka connection with its Secrets read (the same Secrets the runtime pods get). */
export async function kafkaConnectionFor(
  client: KubeClient,
  namespace: string,
  kafka: PipelineSpec["source"]["kafka"],
): Promise<KafkaConnection> {
  let brokers = kafka.brokers ?? [];
  if (kafka.brokersSecretRef !== undefined) {
    const ref = kafka.brokersSecretRef;
    const keys = await readSecretKeys(
      client,
      namespace,
      ref.name,
      [ref.key],
      "spec.source.kafka.brokersSecretRef",
    );
    brokers = (keys[ref.key] ?? "")
      .split(",")
      .map((b) => b.trim())
      .filter((b) => b !== "");
  }
  const caRef = kafka.tls?.caSecretRef;
  const ca =
    caRef === undefined
      ? undefined
      : (
          await readSecretKeys(
            client,
            namespace,
            caRef.name,
            [caRef.key],
            "spec.source.kafka.tls.caSecretRef",
          )
        )[caRef.key];
  const sasl =
    kafka.sasl === undefined
      ? undefined
      : {
          mechanism: kafka.sasl.mechanism,
          ...(await readSecretKeys(
            client,
            namespace,
            kafka.sasl.credentialsSecretRef.name,
            Object.values(kafkaSaslSecretKeys),
            "spec.source.kafka.sasl.credentialsSecretRef",
          )),
        };
  return { brokers, ssl: kafka.tls?.enabled === true ? { ca } : undefined, sasl };
}

interface SampleRequest {
  readonly connection: KafkaConnection;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly startOffset: "earliest" | "latest";
  readonly consumingReplicas: number;
}

interface AdminEntry {
  readonly fingerprint: string;
  readonly admin: kafkajs.Admin;
  readonly connected: Promise<void>;
}

export class OffsetSampler {
  private readonly admins = new Map<string, AdminEntry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** One sample for the pipeline `key`; throws with the topic or broker that failed. */
  async sample(key: string, request: SampleRequest): Promise<OffsetSample> {
    const admin = await this.adminFor(key, request.connection);
    try {
      const partitions: PartitionOffsets[] = [];
      for (const topic of request.topics) {
        const ends = await admin.fetchTopicOffsets(topic).catch((error: unknown) => {
          throw new Error(`topic ${topic}: ${describe(error)}`);
        });
        const [committed] = await admin
          .fetchOffsets({ groupId: request.groupId, topics: [topic] })
          .catch((error: unknown) => {
            throw new Error(`committed offsets of group ${request.groupId} on ${topic}: ${describe(error)}`);
          });
        const byPartition = new Map(committed?.partitions.map((p) => [p.partition, p]));
        for (const end of ends) {
          const entry = byPartition.get(end.partition);
          const offset = entry === undefined ? undefined : Number(entry.offset);
          const startsAt = Number(request.startOffset === "earliest" ? end.low : end.high);
          const metadata = commitMetadataOf(entry?.metadata, `${topic}[${end.partition}]`);
          partitions.push({
            topic,
            partition: end.partition,
            endOffset: Number(end.high),
            committed:
              offset === undefined || Number.isNaN(offset)
                ? { kind: "unknown" }
                : offset < 0
                  ? { kind: "none", startsAt }
                  : { kind: "committed", offset },
            sinkReport: metadata?.sink,
            inflight: metadata?.inflight,
          });
        }
      }
      return { at: this.now(), partitions, consumingReplicas: request.consumingReplicas };
    } catch (error) {
      await this.forget(key);
      throw error;
    }
  }

  /** Disconnects the pipeline's client (deleted pipeline, or a failed sample). */
  async forget(key: string): Promise<void> {
    const entry = this.admins.get(key);
    if (entry === undefined) return;
    this.admins.delete(key);
    await entry.admin.disconnect().catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all([...this.admins.keys()].map((key) => this.forget(key)));
  }

  private async adminFor(key: string, connection: KafkaConnection): Promise<kafkajs.Admin> {
    const fingerprint = JSON.stringify(connection);
    const existing = this.admins.get(key);
    if (existing !== undefined && existing.fingerprint !== fingerprint) await this.forget(key);
    let entry = this.admins.get(key);
    if (entry === undefined) {
      const admin = new kafkajs.Kafka({
        clientId: "tally-operator-autoscaler",
        ...kafkajsConnectionOptions(connection),
        logLevel: kafkajs.logLevel.NOTHING,
        connectionTimeout: 3_000,
        requestTimeout: 10_000,
        // A sample that fails is simply missing (the policy holds); retrying inside kafkajs for half a
        // minute would only delay the status that says so.
        retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1_000 },
      }).admin();
      entry = { fingerprint, admin, connected: admin.connect() };
      this.admins.set(key, entry);
    }
    try {
      await entry.connected;
    } catch (error) {
      await this.forget(key);
      throw new Error(`connecting to ${connection.brokers.join(",")}: ${describe(error)}`);
    }
    return entry.admin;
  }
}

/** The runtime's commit record (sink report, batch in flight); metadata that is not Tally's carries none. */
function commitMetadataOf(metadata: string | null | undefined, where: string): CommitMetadata | undefined {
  try {
    return parseCommitMetadata(metadata, where);
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
