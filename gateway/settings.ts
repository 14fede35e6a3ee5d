/**
 * The gateway's settings, read once from the environment. Pure: every bad value is refused with an
 * error naming the variable, what it holds and what would be accepted.
 */

import { defaultConcurrency } from "./alerts/evaluation-limiter.js";
import { defaultShardCount } from "./alerts/rule-shards.js";

export interface SecretRef {
  readonly namespace: string;
  readonly name: string;
}

export interface GatewaySettings {
  readonly port: number;
  readonly host: string;
  readonly metricsPort: number;
  readonly metricsHost: string;
  /** undefined: every namespace. */
  readonly watchNamespace: string | undefined;
  readonly tokenSecrets: readonly SecretRef[];
  /** Requests per minute per token (per client address without one). */
  readonly rateLimitPerMinute: number;
  readonly redisUrl: string | undefined;
  readonly clickhouse: { readonly url: string; readonly username: string; readonly password: string };
  /** undefined: the alert evaluator is off. */
  readonly alerts: AlertSettings | undefined;
  /** The live stream: least time between two reads of a view, token poll period, heartbeat period. */
  readonly stream: { readonly tickMs: number; readonly pollMs: number; readonly heartbeatMs: number };
}

export interface AlertSettings {
  /** The base of the links in notifications (generatorURL): the gateway as its users reach it. */
  readonly publicUrl: string;
  /** Where the shard Leases live: the gateway's own namespace. */
  readonly leaseNamespace: string;
  /** How many shards the rules are spread over, one Lease each (every replica must agree). */
  readonly shards: number;
  /** At most this many distinct alert queries at once per replica. */
  readonly concurrency: number;
  /** This replica's name on the Leases (a random suffix is added at start). */
  readonly podName: string | undefined;
}

export class SettingsError extends Error {
  override readonly name = "SettingsError";
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function nonEmpty(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || value < 1 || value > 65535)
    throw new SettingsError(`${name}=${raw} is not a port: expected an integer from 1 to 65535`);
  return value;
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < 1)
    throw new SettingsError(`${name}=${raw} is not a positive integer`);
  return Number(raw);
}

function url(env: NodeJS.ProcessEnv, name: string, protocols: readonly string[]): string | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new SettingsError(`${name}=${raw} is not a URL: expected e.g. ${protocols[0]}//host:port`);
  }
  if (!protocols.includes(parsed.protocol))
    throw new SettingsError(`${name}=${raw}: expected a ${protocols.join(" or ")} URL`);
  return raw;
}

/** `ns/name,ns/name`: the Secrets holding tokens; duplicates are refused (a typo shows twice). */
export function parseSecretRefs(name: string, raw: string | undefined): SecretRef[] {
  if (raw === undefined || raw.trim() === "") return [];
  const refs: SecretRef[] = [];
  const seen = new Set<string>();
  for (const item of raw.split(",").map((s) => s.trim())) {
    const [namespace, secret, extra] = item.split("/");
    if (
      namespace === undefined ||
      secret === undefined ||
      extra !== undefined ||
      !dnsLabel.test(namespace) ||
      !dnsSubdomain.test(secret)
    ) {
      throw new SettingsError(
        `${name}: "${item}" is not a Secret reference: expected namespace/name (a DNS label, a DNS subdomain), comma-separated`,
      );
    }
    if (seen.has(item)) throw new SettingsError(`${name}: "${item}" is listed twice`);
    seen.add(item);
    refs.push({ namespace, name: secret });
  }
  return refs;
}

/** TALLY_GATEWAY_ALERTS: on by default when there is a Redis to keep the alert state in. */
function alertSettings(
  env: NodeJS.ProcessEnv,
  redisUrl: string | undefined,
  port: number,
): AlertSettings | undefined {
  const raw = nonEmpty(env, "TALLY_GATEWAY_ALERTS");
  if (raw !== undefined && raw !== "on" && raw !== "off")
    throw new SettingsError(`TALLY_GATEWAY_ALERTS=${raw}: expected on or off`);
  const enabled = raw === undefined ? redisUrl !== undefined : raw === "on";
  if (!enabled) return undefined;
  if (redisUrl === undefined)
    throw new SettingsError(
      "TALLY_GATEWAY_ALERTS=on needs TALLY_REDIS_URL: the alert evaluator keeps its state in Redis",
    );
  const leaseNamespace = nonEmpty(env, "TALLY_GATEWAY_NAMESPACE") ?? "tally-system";
  if (!dnsLabel.test(leaseNamespace))
    throw new SettingsError(
      `TALLY_GATEWAY_NAMESPACE=${leaseNamespace} is not a namespace name (a DNS label)`,
    );
  return {
    publicUrl: url(env, "TALLY_GATEWAY_PUBLIC_URL", ["http:", "https:"]) ?? `http://localhost:${port}`,
    leaseNamespace,
    shards: positiveInteger(env, "TALLY_GATEWAY_ALERT_SHARDS", defaultShardCount),
    concurrency: positiveInteger(env, "TALLY_GATEWAY_ALERT_CONCURRENCY", defaultConcurrency),
    podName: nonEmpty(env, "TALLY_POD_NAME"),
  };
}

export function settingsFromEnv(env: NodeJS.ProcessEnv): GatewaySettings {
  const watchNamespace = nonEmpty(env, "TALLY_WATCH_NAMESPACE");
  if (watchNamespace !== undefined && !dnsLabel.test(watchNamespace))
    throw new SettingsError(`TALLY_WATCH_NAMESPACE=${watchNamespace} is not a namespace name (a DNS label)`);
  const clickhouseUrl = url(env, "TALLY_CLICKHOUSE_URL", ["http:", "https:"]);
  if (clickhouseUrl === undefined)
    throw new SettingsError("TALLY_CLICKHOUSE_URL is not set: the ClickHouse HTTP endpoint queries run on");
  const apiPort = port(env, "TALLY_GATEWAY_PORT", 8090);
  const redisUrl = url(env, "TALLY_REDIS_URL", ["redis:", "rediss:"]);
  return {
    port: apiPort,
    host: nonEmpty(env, "TALLY_GATEWAY_HOST") ?? "0.0.0.0",
    metricsPort: port(env, "TALLY_METRICS_PORT", 8091),
    metricsHost: nonEmpty(env, "TALLY_METRICS_HOST") ?? "0.0.0.0",
    watchNamespace,
    tokenSecrets: parseSecretRefs("TALLY_GATEWAY_TOKEN_SECRETS", env.TALLY_GATEWAY_TOKEN_SECRETS),
    rateLimitPerMinute: positiveInteger(env, "TALLY_GATEWAY_RATE_LIMIT", 600),
    redisUrl,
    clickhouse: {
      url: clickhouseUrl,
      username: nonEmpty(env, "TALLY_CLICKHOUSE_USERNAME") ?? "default",
      password: env.TALLY_CLICKHOUSE_PASSWORD ?? "",
    },
    alerts: alertSettings(env, redisUrl, apiPort),
    stream: {
      tickMs: positiveInteger(env, "TALLY_GATEWAY_STREAM_TICK_MS", 1_000),
      pollMs: positiveInteger(env, "TALLY_GATEWAY_STREAM_POLL_MS", 100),
      heartbeatMs: 1_000 * positiveInteger(env, "TALLY_GATEWAY_STREAM_HEARTBEAT_SECONDS", 15),
    },
  };
}
