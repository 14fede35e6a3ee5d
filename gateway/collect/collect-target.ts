/**
 * Where a pipeline's collected events go and how they are checked, from its stored object (pure but for
 * compiling the JSON Schema): the first topic, the brokers, the validator and the key fields. A pipeline
 * the collector cannot serve is refused with what to change.
 */

import type { ValidateFunction } from "ajv";
import type { PipelineObject } from "../../api/v1alpha1/objects.js";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { formatProblems, validatePipelineSpec } from "../../api/v1alpha1/validation.js";
import { compileEventSchema } from "../../contracts/events/json-event.js";
import type { KafkaConnection } from "../../contracts/kafka/kafka-connection.js";
import type { CollectOutcome } from "./collect-outcome.js";
import { type KeyField, keyFields } from "./event-key.js";

export interface CollectTarget {
  readonly kind: "target";
  readonly namespace: string;
  readonly name: string;
  readonly topic: string;
  readonly connection: KafkaConnection;
  /** undefined: the pipeline has no JSON Schema, so any JSON object is an event. */
  readonly validate: ValidateFunction | undefined;
  readonly keyFields: readonly KeyField[];
}

type Refused = Extract<CollectOutcome, { kind: "refused" }>;

const refused = (status: Refused["status"], error: string, message: string, field?: string): Refused => ({
  kind: "refused",
  status,
  body: { error, message, ...(field === undefined ? {} : { field }) },
});

/**
 * The gateway reads only its token Secrets (least privilege), so it can reach only brokers named in the
 * spec, without a CA or SASL credentials from a Secret.
 */
function connectionOf(kafka: PipelineSpec["source"]["kafka"], pipeline: string): KafkaConnection | Refused {
  const fromSecret = [
    kafka.brokersSecretRef === undefined ? undefined : "spec.source.kafka.brokersSecretRef",
    kafka.tls?.caSecretRef === undefined ? undefined : "spec.source.kafka.tls.caSecretRef",
    kafka.sasl === undefined ? undefined : "spec.source.kafka.sasl",
  ].filter((f) => f !== undefined);
  if (fromSecret.length > 0 || kafka.brokers === undefined)
    return refused(
      422,
      "UnsupportedSource",
      `Pipeline ${pipeline} takes its Kafka connection from Secrets (${fromSecret.join(", ")}), which the gateway does not read; the collector serves pipelines whose spec.source.kafka lists brokers without Secret references.`,
      fromSecret[0],
    );
  return {
    brokers: kafka.brokers,
    ssl: kafka.tls?.enabled === true ? { ca: undefined } : undefined,
    sasl: undefined,
  };
}

export function collectTarget(
  namespace: string,
  name: string,
  pipeline: PipelineObject,
): CollectTarget | Refused {
  const checked = validatePipelineSpec(pipeline.spec);
  if (!checked.ok)
    return refused(
      422,
      "InvalidPipeline",
      `Pipeline ${namespace}/${name} has an invalid spec, so its events cannot be checked: ${formatProblems(checked.problems)}`,
      "spec",
    );
  const spec = checked.value;
  if (spec.format.type !== "json")
    return refused(
      415,
      "UnsupportedFormat",
      `The collector takes JSON pipelines only; pipeline ${name} reads ${spec.format.type} events (spec.format.type).`,
      "spec.format.type",
    );
  const connection = connectionOf(spec.source.kafka, `${namespace}/${name}`);
  if ("kind" in connection) return connection;
  let validate: ValidateFunction | undefined;
  try {
    validate =
      spec.format.jsonSchema === undefined
        ? undefined
        : compileEventSchema(spec.format.jsonSchema, "spec.format.jsonSchema", { allErrors: true });
  } catch (error) {
    return refused(
      422,
      "InvalidPipeline",
      `Pipeline ${namespace}/${name}: ${error instanceof Error ? error.message : String(error)}`,
      "spec.format.jsonSchema",
    );
  }
  const [topic] = spec.source.kafka.topics;
  if (topic === undefined)
    return refused(422, "InvalidPipeline", `Pipeline ${namespace}/${name} names no topic.`);
  return { kind: "target", namespace, name, topic, connection, validate, keyFields: keyFields(spec) };
}
