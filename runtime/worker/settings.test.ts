import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseWorkerSettings, SettingsError } from "./settings.js";

const example = readFileSync(
  resolve(import.meta.dirname, "..", "..", "examples", "clickstream-pipeline.yaml"),
  "utf8",
);
const files: Record<string, string> = {
  "p.yaml": example,
  "bad.yaml": "kind: Pipeline\nmetadata: {name: x}\nspec: {}\n",
};
const readFile = (path: string) => {
  const text = files[path];
  if (text === undefined) throw new Error(`ENOENT: ${path}`);
  return text;
};
const env = {
  TALLY_CLICKHOUSE_URL: "http://ch:8123",
  TALLY_CLICKHOUSE_USERNAME: "tally",
  TALLY_CLICKHOUSE_PASSWORD: "secret",
  TALLY_REDIS_URL: "redis://r:6379",
};

describe("parseWorkerSettings", () => {
  it("reads a Pipeline manifest, defaults the consumer group and applies spec defaults", () => {
    const s = parseWorkerSettings(["--config", "p.yaml", "--create-tables"], env, readFile);
    expect(s.config.consumerGroup).toBe("tally.default.clickstream");
    expect(s.config.spec.eventTime.idleTimeout).toBe("30s");
    expect(s.kafka.brokers).toEqual(["127.0.0.1:9092"]);
    expect(s.clickhouse).toEqual({ url: "http://ch:8123", username: "tally", password: "secret" });
    expect(s.createTables).toBe(true);
    expect(s.metricsPort).toBeUndefined();
  });

  it("lets TALLY_KAFKA_BROKERS override the spec's brokers", () => {
    const s = parseWorkerSettings(
      ["--config", "p.yaml"],
      { ...env, TALLY_KAFKA_BROKERS: "a:1, b:2" },
      readFile,
    );
    expect(s.kafka.brokers).toEqual(["a:1", "b:2"]);
  });

  it("reads the operator's RuntimeConfig from TALLY_PIPELINE_CONFIG in pipeline-worker mode", () => {
    const manifest = parseWorkerSettings(["--config", "p.yaml"], env, readFile).config;
    const s = parseWorkerSettings(
      ["pipeline-worker"],
      {
        ...env,
        TALLY_PIPELINE_CONFIG: JSON.stringify({ ...manifest, consumerGroup: "g1" }),
        TALLY_METRICS_PORT: "9464",
      },
      readFile,
    );
    expect(s.config.consumerGroup).toBe("g1");
    expect(s.metricsPort).toBe(9464);
    // A pod's Service must reach the server, so it binds every address unless told otherwise.
    expect(s.metricsHost).toBe("0.0.0.0");
  });

  it("binds the HTTP server where TALLY_METRICS_HOST says (the local stack: 127.0.0.1)", () => {
    const local = { ...env, TALLY_METRICS_PORT: "0", TALLY_METRICS_HOST: "127.0.0.1" };
    expect(parseWorkerSettings(["--config", "p.yaml"], local, readFile).metricsHost).toBe("127.0.0.1");
  });

  it.each([
    [["pipeline-worker"], {}, /^TALLY_PIPELINE_CONFIG is not set/],
    [["--config", "p.yaml"], { TALLY_REDIS_URL: "redis://r" }, /^TALLY_CLICKHOUSE_URL is not set/],
    [["--config", "p.yaml"], { TALLY_CLICKHOUSE_URL: "http://ch" }, /^TALLY_REDIS_URL is not set/],
    [["--config", "missing.yaml"], env, /^--config missing\.yaml: ENOENT/],
    [["--config", "bad.yaml"], env, /^Pipeline default\/x: spec\.source: required field is missing/],
    [
      ["--config", "p.yaml"],
      { ...env, TALLY_MAX_BUFFERED_BYTES: "12" },
      /^TALLY_MAX_BUFFERED_BYTES=12 is not an integer/,
    ],
    [["--config", "p.yaml"], { ...env, TALLY_METRICS_PORT: "http" }, /^TALLY_METRICS_PORT=http/],
    [
      ["--config", "p.yaml"],
      { ...env, TALLY_METRICS_HOST: "localhost:80" },
      /^TALLY_METRICS_HOST=localhost:80 is not an IP address/,
    ],
    [["serve"], env, /^unknown command serve/],
    [["pipeline-worker"], { ...env, TALLY_PIPELINE_CONFIG: "{" }, /^TALLY_PIPELINE_CONFIG is not JSON/],
  ])("%j with %j: one clear error", (argv, environment, message) => {
    expect(() => parseWorkerSettings(argv, environment, readFile)).toThrow(SettingsError);
    expect(() => parseWorkerSettings(argv, environment, readFile)).toThrow(message);
  });
});
