/**
 * ClickHouse credentials from a connection Secret: every spec and status names only the Secret, and the
 * pipeline controller, the rollup controller and cleanup read it the same way.
 */
import { clickhouseSecretKeys } from "../../contracts/runtime-env.js";
import type { KubeClient } from "../../lib/kube/kube-client.js";
import type { ClickhouseCredentials } from "../clickhouse/clickhouse-session.js";
import { readSecretKeys } from "./secrets.js";

/** Reads the Secret's keys the runtime gets too (`url`, `username`, `password`); `field` names who asked. */
export async function clickhouseCredentials(
  client: KubeClient,
  namespace: string,
  secret: string,
  field: string,
): Promise<ClickhouseCredentials> {
  return readSecretKeys(client, namespace, secret, Object.values(clickhouseSecretKeys), field);
}
