import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SourcesResponse } from "../../api/v1alpha1/query.js";
import { TokenSecrets } from "../../gateway/auth/token-secrets.js";
import { buildApp, type GatewayApp } from "../../gateway/http/app.js";
import { createLogger } from "../../gateway/logger.js";
import type { QueryService } from "../../gateway/query/query-service.js";
import { SourceRegistry } from "../../gateway/sources/source-registry.js";
import { KubeClient } from "../../lib/kube/kube-client.js";
import { kubeconfigPath, stackConfig } from "../env/config.js";
import { eventually } from "../support/eventually.js";
import { asList, exampleManifests } from "../support/examples.js";
import { createNamespace, deleteNamespace, kubectlOk } from "../support/kube.js";

// The gateway's HTTP shell in-process against the real apiserver: token Secrets and Pipelines are
// watched for real (rotation without restart); only the query side is a stand-in that answers
// /sources from the registry's snapshot and echoes the validated query.

let namespace: string;
let otherNamespace: string;
let tokens: TokenSecrets;
let registry: SourceRegistry;
const apps: GatewayApp[] = [];
const logLines: string[] = [];
const firstToken = `first-${Math.random().toString(36).slice(2)}`;
const rotatedToken = `rotated-${Math.random().toString(36).slice(2)}`;
const otherToken = `other-${Math.random().toString(36).slice(2)}`;

const service: QueryService = {
  async sources(ns): Promise<SourcesResponse> {
    return {
      sources: registry.snapshot(ns).pipelines.map((p) => ({
        kind: "Pipeline",
        name: p.metadata?.name ?? "",
        pipeline: p.metadata?.name ?? "",
        ready: false,
        metrics: [],
        dimensions: [],
      })),
      unusable: [],
    };
  },
  async query(_ns, request) {
    return {
      columns: [],
      rows: [{ limit: request.limit, granularity: request.granularity }],
      explain: {
        source: { kind: "Pipeline", name: "x", table: "x.y" },
        segments: [],
        candidates: [],
        range: { from: new Date(0).toISOString(), to: new Date().toISOString() },
        approximate: [],
        cache: { status: "bypass", settled: false },
      },
    };
  },
};

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
const query = { metrics: ["events"], timeRange: { preset: "last_1h" } };
const post = (token: string | undefined, body: unknown, ns = namespace, root = base) =>
  fetch(`${root}/api/v1/namespaces/${ns}/query`, {
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
  base = await startApp(1000);
}, 120_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  await tokens?.stop();
  await registry?.stop();
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
    expect(((await ok.json()) as { rows: unknown }).rows).toEqual([{ limit: 1000, granularity: "none" }]);
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

  it("lists the namespace's Pipelines as the watch sees them", async () => {
    const pipeline = exampleManifests("clickstream-pipeline.yaml", namespace).find(
      (m) => m.kind === "Pipeline",
    );
    if (pipeline === undefined) throw new Error("no Pipeline in the example");
    await kubectlOk(["apply", "-f", "-"], asList([pipeline]));
    await eventually(async () => {
      const response = await fetch(`${base}/api/v1/namespaces/${namespace}/sources`, {
        headers: { authorization: `Bearer ${rotatedToken}` },
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as SourcesResponse).sources.map((s) => s.name)).toEqual([
        pipeline.metadata.name,
      ]);
    }, 30_000);
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
