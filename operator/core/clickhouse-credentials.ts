/**
 * ClickHouse credentials from a connection Secret: every spec and status names only the Secret, and the
 * pipeline controller, the rollup controller and cleanup read it the same way.
 */

import type { KubeClient } from "../../lib/kube/kube-client.js";
import type { ClickhouseCredentials } from "../clickhouse/clickhouse-session.js";
import { readSecretKeys } from "./secrets.js";

/** Reads the Secret's `url`, `username` and `password`; `field` names who asked, for the error. */
export async function clickhouseCredentials(
  client: KubeClient,
  namespace: string,
  secret: string,
  field: string,
): Promise<ClickhouseCredentials> {
  return readSecretKeys(client, namespace, secret, ["url", "username", "password"], field);
}
