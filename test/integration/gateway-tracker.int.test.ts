import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ClickHouseClient } from "@clickhouse/client";
import type { Browser, Page, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { collectorOriginsAnnotation } from "../../gateway/collect/cors.js";
import { launchBrowser } from "../support/browser.js";
import { eventually } from "../support/eventually.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { createNamespace, deleteNamespace, kubectlOk } from "../support/kube.js";
import { markReady } from "../support/ready-status.js";
import {
  clickhouseClient,
  pipelineManifest,
  type RuntimeTestNames,
  runtimeTestNames,
  waitForCommitted,
} from "../support/runtime-harness.js";
import { applyTokenSecret } from "../support/token-secret.js";
import {
  startWorkerPipeline,
  stopWorkerPipeline,
  topicEnds,
  type WorkerPipeline,
} from "../support/worker-pipeline.js";

// The browser tracker end to end: a gateway process (watching the test namespace's Pipeline and token
// Secret in the apiserver), a runtime worker loading the pipeline's topic into its raw table, and
// Chromium on a test page served from another origin (a local HTTP server) that the Pipeline's
// tally.dev/collector-origins annotation allows. What the page did is written down here as it is done;
// the raw table must hold exactly those events, once each, with the visitor's ids.

const token = `tracker-${Math.random().toString(36).slice(2)}`;
const readToken = `analyst-${Math.random().toString(36).slice(2)}`;
const clickhouse = clickhouseClient();
let namespace: string;
let names: RuntimeTestNames;
let loaded: WorkerPipeline;
let gateway: GatewayProcess | undefined;
let pageServer: Server | undefined;
let pageOrigin: string;
let browser: Browser | undefined;

/** The test page: the tracker from the gateway, a marked button; `?beacon` keeps events queued. */
function testPage(search: string): string {
  const config = {
    namespace,
    pipeline: names.pipeline,
    token,
    // No endpoint: the tracker posts to where tracker.js came from.
    ...(search.includes("beacon") ? { flushIntervalMs: 600_000, maxBatch: 500 } : { flushIntervalMs: 200 }),
  };
  return `<!doctype html><html><head><title>shop</title>
<script src="${gateway?.url}/tracker.js"></script>
<script>tally.init(${JSON.stringify(config)});</script></head>
<body><button id="buy" data-tally-event="add_to_cart" data-tally-value="42" data-tally-sku="sku-7">Add</button></body></html>`;
}

async function startPageServer(): Promise<string> {
  pageServer = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end(testPage(url.search));
  });
  await new Promise<void>((resolve) => pageServer?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
}

/** One row of the raw table as the tracker's events land there. Extend the columns as assertions need. */
interface LandedEvent {
  readonly event_id: string;
  readonly user_id: string;
  readonly session_id: string | null;
  readonly type: string;
  readonly url: string | null;
  readonly value: number | null;
  readonly ts: number;
}

async function landedEvents(client: ClickHouseClient, table: string): Promise<LandedEvent[]> {
  const result = await client.query({
    query: `SELECT event_id, user_id, session_id, toString(type) AS type, url, value, toUnixTimestamp64Milli(ts) AS ts FROM ${table} ORDER BY ts, event_id`,
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return result.json<LandedEvent>();
}

const collectRequests = "**/pipelines/*/events";

beforeAll(async () => {
  namespace = await createNamespace("gw-tracker");
  names = runtimeTestNames("tracker", namespace);
  const manifest = pipelineManifest(names);
  // One partition: the test has two users, so most partitions of a larger topic would stay empty (and
  // uncommitted, which waitForCommitted cannot tell from behind).
  loaded = await startWorkerPipeline(names, manifest, 1);

  pageOrigin = await startPageServer();
  const pipeline = parse(manifest) as { metadata: { annotations?: Record<string, string> } };
  pipeline.metadata.annotations = { [collectorOriginsAnnotation]: pageOrigin };
  await kubectlOk(["apply", "-f", "-"], JSON.stringify(pipeline));
  // Write only: what a public page may hold.
  await applyTokenSecret(namespace, "site-collector", { token, namespaces: namespace, scopes: "write" });
  // The analyst's token: reads the funnel the site's events make.
  await applyTokenSecret(namespace, "analyst", { token: readToken, namespaces: namespace, scopes: "read" });
  gateway = await startGateway({
    namespace,
    tokenSecrets: [`${namespace}/site-collector`, `${namespace}/analyst`],
  });
  // The gateway has seen the Pipeline (and its annotation) once the preflight is granted.
  await eventually(async () => {
    const preflight = await fetch(
      `${gateway?.url}/api/v1/namespaces/${namespace}/pipelines/${names.pipeline}/events`,
      { method: "OPTIONS", headers: { origin: pageOrigin, "access-control-request-method": "POST" } },
    );
    if (preflight.headers.get("access-control-allow-origin") !== pageOrigin)
      throw new Error("the gateway has not seen the Pipeline yet");
  }, 30_000);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await stopWorkerPipeline(loaded, clickhouse);
  pageServer?.close();
  await clickhouse.close();
  if (namespace !== undefined) await deleteNamespace(namespace);
});

// Page code is given as text: this file is type-checked without the DOM library.
const pending = (page: Page) => page.evaluate<number>("window.tally.pending()");

describe("browser tracker on the stack", () => {
  it("lands page views, a marked click, a custom event and a hidden page's beacon exactly once", async () => {
    if (browser === undefined || gateway === undefined) throw new Error("not started");
    const started = Date.now();
    const context = await browser.newContext();

    // The first request reaches the collector, but the page is told the connection failed: the tracker
    // must send the same events again, and the pipeline's dedup must drop the second copies.
    let collectCalls = 0;
    const firstStatus: number[] = [];
    let firstBatch = 0;
    await context.route(collectRequests, async (route: Route) => {
      collectCalls += 1;
      if (collectCalls > 1) return route.continue();
      const answer = await route.fetch();
      firstStatus.push(answer.status());
      firstBatch = (route.request().postDataJSON() as { events: unknown[] }).events.length;
      return route.abort("connectionreset");
    });

    // Tab 1: a view on load, an in-page navigation, a click on the marked button, a custom event.
    const page = await context.newPage();
    await page.goto(`${pageOrigin}/shop`);
    await page.evaluate('history.pushState({}, "", "/shop/item-7")');
    await page.evaluate('history.pushState({}, "", "/shop/item-7")'); // same URL: no new view
    await page.click("#buy");
    await page.evaluate('tally.track("purchase", { value: 99.5 })');
    await page.waitForFunction("tally.pending() === 0", undefined, { timeout: 20_000 });
    expect(firstStatus).toEqual([202]);
    expect(collectCalls).toBeGreaterThanOrEqual(2);
    const anonymous = await page.evaluate<string | null>('localStorage.getItem("tally.anonymous_id")');
    expect(anonymous).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    // Tab 2 (same visitor): nothing is sent until the page is hidden, then all of it goes by beacon.
    const callsBefore = collectCalls;
    const checkout = await context.newPage();
    await checkout.goto(`${pageOrigin}/checkout?beacon`);
    await checkout.evaluate('tally.identify("customer-7"); tally.track("purchase", { value: 5 })');
    expect(await pending(checkout)).toBe(2);
    await checkout.waitForTimeout(500);
    expect(collectCalls).toBe(callsBefore);
    // Hidden, then left (visibilitychange, pagehide): the page's timers die with it, so its two events
    // can only land by the beacon sent then.
    await checkout.goto("about:blank");

    const expected = [
      { user_id: anonymous, type: "page_view", url: `${pageOrigin}/shop`, value: null, tab: 1 },
      { user_id: anonymous, type: "page_view", url: `${pageOrigin}/shop/item-7`, value: null, tab: 1 },
      { user_id: anonymous, type: "add_to_cart", url: `${pageOrigin}/shop/item-7`, value: 42, tab: 1 },
      { user_id: anonymous, type: "purchase", url: `${pageOrigin}/shop/item-7`, value: 99.5, tab: 1 },
      { user_id: anonymous, type: "page_view", url: `${pageOrigin}/checkout?beacon`, value: null, tab: 2 },
      { user_id: "customer-7", type: "purchase", url: `${pageOrigin}/checkout?beacon`, value: 5, tab: 2 },
    ];
    const ends = await eventually(async () => {
      const now = await topicEnds(names);
      const messages = now.reduce((a, b) => a + b, 0);
      if (messages < expected.length + firstBatch) throw new Error(`${messages} messages on the topic`);
      return now;
    }, 30_000);
    // Each event once, and the first batch a second time: the retry carried the same event ids.
    expect(ends.reduce((a, b) => a + b, 0)).toBe(expected.length + firstBatch);
    await waitForCommitted(names, ends, 120_000);
    const rows = await eventually(async () => {
      const got = await landedEvents(clickhouse, loaded.rawTable);
      if (got.length < expected.length) throw new Error(`${got.length} rows of ${expected.length}`);
      return got;
    }, 60_000);

    const key = (e: { user_id: string | null; type: string; url: string | null; value: number | null }) =>
      JSON.stringify([e.user_id, e.type, e.url, e.value]);
    expect(rows.map(key).sort()).toEqual(expected.map(key).sort());
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(rows.length);
    for (const row of rows) {
      expect(row.ts).toBeGreaterThanOrEqual(started - 1_000);
      expect(row.ts).toBeLessThanOrEqual(Date.now());
    }
    // One session per tab: the tab's events share it, the two tabs do not.
    const sessionOf = (tab: number) =>
      new Set(
        rows.filter((r) => expected.some((e) => e.tab === tab && key(e) === key(r))).map((r) => r.session_id),
      );
    const [first, second] = [sessionOf(1), sessionOf(2)];
    expect([first.size, second.size]).toEqual([1, 1]);
    expect([...first][0]).not.toEqual([...second][0]);
    expect([...first][0]).toMatch(/^[0-9a-f-]{36}$/);

    // The same events as a funnel: page view → add to cart → purchase, in order, per user. Expected from
    // what the browser did (not from the rows): the anonymous visitor did all three in tab 1; customer-7
    // only purchased (the tab-2 page view was still anonymous), so it never enters the funnel.
    const steps = ["page_view", "add_to_cart", "purchase"];
    const reached = steps.map((_, i) => {
      const users = new Set(expected.map((e) => e.user_id));
      return [...users].filter((user) => {
        const types = expected.filter((e) => e.user_id === user).map((e) => e.type);
        let at = -1;
        for (const step of steps.slice(0, i + 1)) {
          at = types.indexOf(step, at + 1);
          if (at < 0) return false;
        }
        return true;
      }).length;
    });
    expect(reached).toEqual([1, 1, 1]);
    // No operator runs here: say Ready as it would (the worker is up and loading the raw table).
    await markReady("pipeline", names.pipeline, namespace);
    const funnel = await eventually(async () => {
      const answered = await fetch(`${gateway?.url}/api/v1/namespaces/${namespace}/funnel`, {
        method: "POST",
        headers: { authorization: `Bearer ${readToken}`, "content-type": "application/json" },
        body: JSON.stringify({
          pipeline: names.pipeline,
          steps: steps.map((type) => ({ name: type, event: { op: "eq", field: "type", value: type } })),
          timeRange: {
            from: new Date(started - 60_000).toISOString(),
            to: new Date(Date.now() + 60_000).toISOString(),
          },
          order: "ordered",
        }),
      });
      if (answered.status === 503) throw new Error("the gateway has not seen the Pipeline Ready yet");
      return answered;
    }, 30_000);
    expect(funnel.status, await funnel.clone().text()).toBe(200);
    const answer = (await funnel.json()) as {
      steps: { count: number }[];
      timeToConvert: { converted: number };
    };
    expect(answer.steps.map((step) => step.count)).toEqual(reached);
    expect(answer.timeToConvert.converted).toBe(1);
    // The site's write token cannot read it.
    const refused = await fetch(`${gateway.url}/api/v1/namespaces/${namespace}/funnel`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ pipeline: names.pipeline, steps: [], timeRange: { preset: "last_1h" } }),
    });
    expect(refused.status).toBe(403);

    // The write token went in request bodies only: not in the gateway's log.
    expect(readFileSync(gateway.logFile, "utf8")).not.toContain(token);
    await context.close();
  }, 240_000);
});
