import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueryResponse, SourcesResponse } from "../../api/v1alpha1/query.js";
import { formatProblems, validatePipelineSpec } from "../../api/v1alpha1/validation.js";
import { renderRawTableDdl } from "../../contracts/clickhouse/raw-table-ddl.js";
import { quoteIdentifier } from "../../contracts/clickhouse/sql.js";
import { TokenSecrets } from "../../gateway/auth/token-secrets.js";
import { buildApp, type GatewayApp } from "../../gateway/http/app.js";
import { createLogger } from "../../gateway/logger.js";
import { createQueryService } from "../../gateway/query/create-query-service.js";
import type { QueryService } from "../../gateway/query/query-service.js";
import { SourceRegistry } from "../../gateway/sources/source-registry.js";
import { KubeClient } from "../../lib/kube/kube-client.js";
import { kubeconfigPath, stackConfig } from "../env/config.js";
import { eventually } from "../support/eventually.js";
import { asList, databaseFor, exampleManifests, type Manifest } from "../support/examples.js";
import { createNamespace, deleteNamespace, kubectlOk } from "../support/kube.js";
import { clickhouseClient } from "../support/runtime-harness.js";

// The gateway's HTTP shell in-process against the real apiserver and the real query service: token
// Secrets, Pipelines and Rollups are watched for real (rotation without restart), and queries run on
// the stack's ClickHouse (no result cache). The example Pipeline stands Ready over an empty raw table,
// as the operator would leave it before any event, so queries answer (with no rows counted).

let namespace: string;
let otherNamespace: string;
let tokens: TokenSecrets;
let registry: SourceRegistry;
const apps: GatewayApp[] = [];
const logLines: string[] = [];
const firstToken = `first-${Math.random().toString(36).slice(2)}`;
const rotatedToken = `rotated-${Math.random().toString(36).slice(2)}`;
const otherToken = `other-${Math.random().toString(36).slice(2)}`;

const clickhouse = clickhouseClient();
let service: QueryService;
let database: string;
let pipeline: Manifest;

function tokenSecret(name: string, token: string, namespaces: string, secretNamespace = namespace): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: secretNamespace },
    stringData: { token, namespaces },
  });
}

async function startApp(rateLimitPerMinute: number): Promise<string> {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  const app = await buildApp({
    service,
    tokens: () => tokens.table(),
    rateLimitPerMinute,
    logger: createLogger(sink, "debug"),
  });
  apps.push(app);
  return app.listen({ port: 0, host: "127.0.0.1" });
}

let base: string;
// "count" is what a Pipeline without Rollups offers; it is named because a second Pipeline joins later.
const query = { pipeline: "clickstream", metrics: ["count"], timeRange: { preset: "last_1h" } };
const post = (token: string | undefined, body: unknown, ns = namespace, root = base, search = "") =>
  fetch(`${root}/api/v1/namespaces/${ns}/query${search}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  await kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", `${stackConfig.repoRoot}/crds`]);
  await kubectlOk([
    "wait",
    "--for=condition=Established",
    "crd/pipelines.tally.dev",
    "crd/rollups.tally.dev",
  ]);
  namespace = await createNamespace("gw-http");
  otherNamespace = await createNamespace("gw-other");
  await kubectlOk(["apply", "-f", "-"], tokenSecret("dashboards", firstToken, namespace));
  await kubectlOk(["apply", "-f", "-"], tokenSecret("other", otherToken, otherNamespace, otherNamespace));
  const client = KubeClient.fromEnvironment(kubeconfigPath);
  const logger = createLogger(new Writable({ write: (_c, _e, done) => done() }));
  tokens = new TokenSecrets(
    client,
    [
      { namespace, name: "dashboards" },
      { namespace, name: "other" },
    ],
    logger,
  );
  registry = new SourceRegistry(client, { namespace: undefined, logger });
  tokens.start();
  registry.start();
  await eventually(async () => {
    if (!tokens.synced() || !registry.synced()) throw new Error("watches not synced");
  }, 30_000);

  // The example Pipeline, its raw table made from the spec as the watch hands it over (defaults
  // applied by the apiserver), then marked Ready through the status subresource as the operator would.
  database = databaseFor(namespace);
  const example = exampleManifests("clickstream-pipeline.yaml", namespace, database).find(
    (m) => m.kind === "Pipeline",
  );
  if (example === undefined) throw new Error("no Pipeline in the example");
  pipeline = example;
  await kubectlOk(["apply", "-f", "-"], asList([pipeline]));
  const watched = await eventually(async () => {
    const found = registry.snapshot(namespace).pipelines[0];
    if (found === undefined) throw new Error("the watch has not seen the Pipeline yet");
    return found;
  }, 30_000);
  const spec = validatePipelineSpec(watched.spec);
  if (!spec.ok) throw new Error(formatProblems(spec.problems));
  for (const statement of renderRawTableDdl(spec.value).statements)
    await clickhouse.command({ query: statement });
  const ready = {
    type: "Ready",
    status: "True",
    reason: "Ready",
    message: "",
    lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  };
  await kubectlOk([
    "patch",
    "pipeline",
    pipeline.metadata.name,
    "-n",
    namespace,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status: { conditions: [ready] } }),
  ]);
  service = createQueryService({
    snapshot: (ns) => registry.snapshot(ns),
    clickhouse,
    redis: undefined,
    cache: undefined,
    logger,
    now: () => Date.now(),
  });
  base = await startApp(1000);
  await eventually(async () => {
    const sources = await fetch(`${base}/api/v1/namespaces/${namespace}/sources`, {
      headers: { authorization: `Bearer ${firstToken}` },
    });
    expect(((await sources.json()) as SourcesResponse).sources[0]?.ready).toBe(true);
  }, 30_000);
}, 120_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  await tokens?.stop();
  await registry?.stop();
  if (database !== undefined)
    await clickhouse.command({
      query: `DROP DATABASE IF EXISTS ${quoteIdentifier(database, "test database")}`,
    });
  await clickhouse.close();
  if (namespace !== undefined) await deleteNamespace(namespace);
  if (otherNamespace !== undefined) await deleteNamespace(otherNamespace);
});

describe("gateway HTTP against the apiserver", () => {
  it("answers 401 without a token and 403 for a namespace the token is not scoped to", async () => {
    const none = await post(undefined, query);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await none.json()).toMatchObject({ error: "Unauthenticated" });
    const elsewhere = await post(firstToken, query, otherNamespace);
    expect(elsewhere.status).toBe(403);
    expect(((await elsewhere.json()) as { message: string }).message).toContain(
      `may not read namespace ${otherNamespace}`,
    );
    const ok = await post(firstToken, query);
    expect(ok.status).toBe(200);
    // Defaults applied: granularity none (no time column), one row counting the empty table.
    const answer = (await ok.json()) as QueryResponse;
    expect(answer.rows).toEqual([{ count: 0 }]);
    expect(answer.columns.map((c) => c.role)).toEqual(["metric"]);
    expect(answer.explain.source).toMatchObject({ kind: "Pipeline", name: pipeline.metadata.name });
    // And limit 1000, as the parameterized SQL shows.
    const explained = (await (
      await post(firstToken, query, namespace, base, "?explain=true")
    ).json()) as QueryResponse;
    const limit = /LIMIT \{(\w+):UInt32\}/.exec(explained.explain.sql ?? "")?.[1] ?? "";
    expect(explained.explain.params?.[limit]).toBe(1000);
  });

  it("knows only the named Secrets: a token Secret it was not told about grants nothing", async () => {
    // `other` in otherNamespace holds a valid-looking token, but the gateway watches namespace/other.
    expect((await post(otherToken, query, otherNamespace)).status).toBe(401);
  });

  it("sees a rotated token without a restart", async () => {
    await kubectlOk(["apply", "-f", "-"], tokenSecret("dashboards", rotatedToken, namespace));
    await eventually(async () => {
      expect((await post(rotatedToken, query)).status).toBe(200);
      expect((await post(firstToken, query)).status).toBe(401);
    }, 30_000);
  });

  it("lists the namespace's Pipelines as the watch sees them, one just applied with no data", async () => {
    const applied = { ...pipeline, metadata: { ...pipeline.metadata, name: "clickstream-new" } };
    await kubectlOk(["apply", "-f", "-"], asList([applied]));
    await eventually(async () => {
      const response = await fetch(`${base}/api/v1/namespaces/${namespace}/sources`, {
        headers: { authorization: `Bearer ${rotatedToken}` },
      });
      expect(response.status).toBe(200);
      const pipelines = ((await response.json()) as SourcesResponse).sources.filter(
        (s) => s.kind === "Pipeline",
      );
      expect(pipelines.map((s) => s.name)).toEqual([pipeline.metadata.name, applied.metadata.name]);
      // No operator runs here: the new one is listed, not ready, and says so.
      expect(pipelines[1]).toMatchObject({ ready: false, reason: expect.stringMatching(/is not Ready/) });
      expect(pipelines[1]?.metrics.map((m) => m.name)).toEqual(["count"]);
    }, 30_000);
    const notReady = await post(rotatedToken, { ...query, pipeline: applied.metadata.name });
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ error: "SourceNotReady" });
  });

  it("refuses a bad request with 400 naming the field, and an unknown property", async () => {
    const bad = await post(rotatedToken, { ...query, metrics: ["events", "clicks", "not a name"] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "InvalidRequest", field: "metrics[2]" });
    const unknown = await post(rotatedToken, { ...query, timeRange: { preset: "last_1h", zone: "UTC" } });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: "UnknownField", field: "timeRange.zone" });
  });

  it("limits each token, with 429 and Retry-After", async () => {
    const limited = await startApp(3);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(rotatedToken, query, namespace, limited)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await post(rotatedToken, query, namespace, limited);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await refused.json()) as { message: string }).message).toMatch(/retry in \d+ s/);
  });

  it("serves the OpenAPI document equal to the committed file", async () => {
    const served = await (await fetch(`${base}/openapi.json`)).json();
    expect(served).toEqual(
      JSON.parse(readFileSync(`${import.meta.dirname}/../../gateway/openapi.json`, "utf8")),
    );
  });

  it("never wrote a token to the log", () => {
    expect(logLines.length).toBeGreaterThan(10);
    const log = logLines.join("\n");
    for (const token of [firstToken, rotatedToken, otherToken]) expect(log).not.toContain(token);
    expect(log).toContain(`"namespace":"${namespace}"`);
  });
});
