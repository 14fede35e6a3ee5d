import { describe, expect, it } from "vitest";
import { settingsFromEnv } from "./settings.js";

const minimal = { TALLY_CLICKHOUSE_URL: "http://127.0.0.1:8123" };

describe("gateway settings", () => {
  it("defaults every optional setting", () => {
    expect(settingsFromEnv(minimal)).toEqual({
      port: 8090,
      host: "0.0.0.0",
      metricsPort: 8091,
      metricsHost: "0.0.0.0",
      watchNamespace: undefined,
      tokenSecrets: [],
      rateLimitPerMinute: 600,
      redisUrl: undefined,
      clickhouse: { url: "http://127.0.0.1:8123", username: "default", password: "" },
      alerts: undefined,
      stream: { tickMs: 1_000, pollMs: 100, heartbeatMs: 15_000 },
    });
  });

  it("reads every variable", () => {
    const settings = settingsFromEnv({
      TALLY_GATEWAY_PORT: "9000",
      TALLY_GATEWAY_HOST: "127.0.0.1",
      TALLY_METRICS_PORT: "9001",
      TALLY_METRICS_HOST: "127.0.0.1",
      TALLY_WATCH_NAMESPACE: "shop",
      TALLY_GATEWAY_TOKEN_SECRETS: "shop/dashboards, tally-system/admin.token",
      TALLY_GATEWAY_RATE_LIMIT: "30",
      TALLY_REDIS_URL: "redis://127.0.0.1:6379",
      TALLY_CLICKHOUSE_URL: "https://ch:8443",
      TALLY_CLICKHOUSE_USERNAME: "tally",
      TALLY_CLICKHOUSE_PASSWORD: "pw",
      TALLY_GATEWAY_PUBLIC_URL: "https://tally.example.com",
      TALLY_GATEWAY_NAMESPACE: "tally",
      TALLY_POD_NAME: "gateway-0",
      TALLY_GATEWAY_STREAM_TICK_MS: "500",
      TALLY_GATEWAY_STREAM_POLL_MS: "50",
      TALLY_GATEWAY_STREAM_HEARTBEAT_SECONDS: "5",
    });
    expect(settings).toEqual({
      port: 9000,
      host: "127.0.0.1",
      metricsPort: 9001,
      metricsHost: "127.0.0.1",
      watchNamespace: "shop",
      tokenSecrets: [
        { namespace: "shop", name: "dashboards" },
        { namespace: "tally-system", name: "admin.token" },
      ],
      rateLimitPerMinute: 30,
      redisUrl: "redis://127.0.0.1:6379",
      clickhouse: { url: "https://ch:8443", username: "tally", password: "pw" },
      alerts: {
        publicUrl: "https://tally.example.com",
        leaseNamespace: "tally",
        shards: 32,
        concurrency: 8,
        podName: "gateway-0",
      },
      stream: { tickMs: 500, pollMs: 50, heartbeatMs: 5_000 },
    });
  });

  it("evaluates alerts by default when Redis is set, and not when it is off", () => {
    const withRedis = { ...minimal, TALLY_REDIS_URL: "redis://127.0.0.1:6379" };
    expect(settingsFromEnv(withRedis).alerts).toEqual({
      publicUrl: "http://localhost:8090",
      leaseNamespace: "tally-system",
      shards: 32,
      concurrency: 8,
      podName: undefined,
    });
    expect(settingsFromEnv({ ...withRedis, TALLY_GATEWAY_ALERTS: "off" }).alerts).toBeUndefined();
  });

  it.each([
    [
      { TALLY_GATEWAY_PORT: "80a" },
      /TALLY_GATEWAY_PORT=80a is not a port: expected an integer from 1 to 65535/,
    ],
    [{ TALLY_METRICS_PORT: "70000" }, /TALLY_METRICS_PORT=70000 is not a port/],
    [{ TALLY_GATEWAY_RATE_LIMIT: "0" }, /TALLY_GATEWAY_RATE_LIMIT=0 is not a positive integer/],
    [{ TALLY_GATEWAY_RATE_LIMIT: "1.5" }, /TALLY_GATEWAY_RATE_LIMIT=1.5 is not a positive integer/],
    [
      { TALLY_REDIS_URL: "redis://r:6379", TALLY_GATEWAY_ALERT_SHARDS: "0" },
      /TALLY_GATEWAY_ALERT_SHARDS=0 is not a positive integer/,
    ],
    [{ TALLY_WATCH_NAMESPACE: "Shop_1" }, /TALLY_WATCH_NAMESPACE=Shop_1 is not a namespace name/],
    [
      { TALLY_GATEWAY_TOKEN_SECRETS: "dashboards" },
      /TALLY_GATEWAY_TOKEN_SECRETS: "dashboards" is not a Secret reference: expected namespace\/name/,
    ],
    [{ TALLY_GATEWAY_TOKEN_SECRETS: "a/b/c" }, /"a\/b\/c" is not a Secret reference/],
    [{ TALLY_GATEWAY_TOKEN_SECRETS: "a/b,a/b" }, /TALLY_GATEWAY_TOKEN_SECRETS: "a\/b" is listed twice/],
    [
      { TALLY_REDIS_URL: "http://r:6379" },
      /TALLY_REDIS_URL=http:\/\/r:6379: expected a redis: or rediss: URL/,
    ],
    [{ TALLY_REDIS_URL: "not a url" }, /TALLY_REDIS_URL=not a url is not a URL/],
    [{ TALLY_CLICKHOUSE_URL: "" }, /TALLY_CLICKHOUSE_URL is not set/],
    [
      { TALLY_CLICKHOUSE_URL: "tcp://ch:9000" },
      /TALLY_CLICKHOUSE_URL=tcp:\/\/ch:9000: expected a http: or https: URL/,
    ],
    [{ TALLY_GATEWAY_ALERTS: "yes" }, /TALLY_GATEWAY_ALERTS=yes: expected on or off/],
    [{ TALLY_GATEWAY_ALERTS: "on" }, /TALLY_GATEWAY_ALERTS=on needs TALLY_REDIS_URL/],
    [
      { TALLY_REDIS_URL: "redis://r:6379", TALLY_GATEWAY_PUBLIC_URL: "ftp://x" },
      /TALLY_GATEWAY_PUBLIC_URL=ftp:\/\/x: expected a http: or https: URL/,
    ],
  ])("refuses %j naming the variable", (env, message) => {
    expect(() => settingsFromEnv({ ...minimal, ...env })).toThrow(message);
  });
});
