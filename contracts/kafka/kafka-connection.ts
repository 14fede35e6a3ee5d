/**
 * How Tally connects to Kafka, resolved from a Pipeline's `spec.source.kafka` and its Secrets, and
 * the kafkajs options for it. The runtime pods and the operator's autoscaler both connect this way.
 */
import type { KafkaConfig } from "kafkajs";

export interface KafkaConnection {
  readonly brokers: readonly string[];
  /** TLS on; `ca` when the brokers' CA is not a public one. */
  readonly ssl: { readonly ca: string | undefined } | undefined;
  readonly sasl:
    | {
        readonly mechanism: "plain" | "scram-sha-256" | "scram-sha-512";
        readonly username: string;
        readonly password: string;
      }
    | undefined;
}

/** kafkajs' brokers, ssl and sasl options for a connection. */
export function kafkajsConnectionOptions(
  connection: KafkaConnection,
): Pick<KafkaConfig, "brokers" | "ssl" | "sasl"> {
  const { ssl, sasl } = connection;
  const credentials = sasl === undefined ? undefined : { username: sasl.username, password: sasl.password };
  return {
    brokers: [...connection.brokers],
    ssl: ssl === undefined ? undefined : ssl.ca === undefined ? true : { ca: [ssl.ca] },
    // kafkajs types each mechanism separately, so the union is spelled out.
    sasl:
      sasl === undefined || credentials === undefined
        ? undefined
        : sasl.mechanism === "plain"
          ? { mechanism: "plain", ...credentials }
          : sasl.mechanism === "scram-sha-256"
            ? { mechanism: "scram-sha-256", ...credentials }
            : { mechanism: "scram-sha-512", ...credentials },
  };
}
