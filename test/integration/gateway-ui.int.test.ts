import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueryFilter, QueryRequest, QueryResponse, ResultValue } from "../../api/v1alpha1/query.js";
import { renderRawTableDdl } from "../../contracts/clickhouse/raw-table-ddl.js";
import { quoteIdentifier } from "../../contracts/clickhouse/sql.js";
import { renderWindowTableDdl } from "../../contracts/clickhouse/window-table-ddl.js";
import { stackConfig } from "../env/config.js";
import { launchBrowser } from "../support/browser.js";
import type { ClickEvent } from "../support/clickstream-generator.js";
import { eventually } from "../support/eventually.js";
import { databaseFor, exampleManifests } from "../support/examples.js";
import { createExampleRollups } from "../support/gateway-dataset.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { createNamespace, deleteNamespace, kubectlOk } from "../support/kube.js";
import { markReady } from "../support/ready-status.js";
import {
  clickhouseClient,
  createTopics,
  pipelineManifest,
  planOf,
  produce,
  type RuntimeTestNames,
  runtimeTestNames,
  WorkerProcess,
  waitForCommitted,
  writeManifest,
} from "../support/runtime-harness.js";
import { applyTokenSecret } from "../support/token-secret.js";

// The web UI in real Chromium against a real gateway process on the stack: the example Pipeline (a
// real runtime worker on its topic, writing ClickHouse and Redis), its example Rollups and the example
// Dashboard. Log in (a wrong token is refused), read the status page, open the dashboard, produce
// events and watch a panel change to the count computed from them, drill down by a series and see
// every panel equal the filtered POST /query answer, go back by the breadcrumb, export a panel as CSV.
// Screenshots go to <stack dir>/artifacts/.

const clickhouse = clickhouseClient();
const token = `ui-${randomUUID()}`;
const artifacts = join(stackConfig.stateDir, "artifacts");
const partitions = 2;
const types = ["page_view", "click", "add_to_cart", "purchase"] as const;
const urls = ["/", "/search", "/product/1", "/product/2", "/cart"] as const;

let namespace: string;
let names: RuntimeTestNames;
let gateway: GatewayProcess | undefined;
let worker: WorkerProcess | undefined;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
const produced: ClickEvent[] = [];
const sentPerPartition = new Array<number>(partitions).fill(0);
const cspViolations: string[] = [];
let dashboardPanels: { name: string; source: { query?: QueryRequest; window?: Record<string, unknown> } }[];

/**
 * n events over the last `spanMs`, in time order; every type and url, purchases with a value. The first
 * batch spans 4 minutes, so the live window's earlier minutes close (the watermark passes them by more
 * than the allowed lateness) and its table has rows; later batches stay within the allowed lateness.
 */
function makeEvents(n: number, salt: number, spanMs: number): ClickEvent[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => {
    const type = types[(i * 3 + salt) % types.length] ?? "click";
    return {
      event_id: randomUUID(),
      user_id: `user-${(i + salt) % 23}`,
      session_id: `s-${(i + salt) % 23}`,
      type,
      url: urls[(i * 7 + salt) % urls.length] ?? "/",
      ts: now - spanMs + Math.round((i * spanMs) / n),
      latency_ms: 50 + (i % 40),
      value: type === "purchase" ? 10 + (i % 5) : null,
    };
  });
}

async function send(events: ClickEvent[]): Promise<void> {
  const byPartition = Array.from(
    { length: partitions },
    () => [] as { partition: number; key: string; value: string }[],
  );
  for (const e of events) {
    const partition = Number(e.user_id.split("-")[1]) % partitions;
    byPartition[partition]?.push({
      partition,
      key: e.user_id,
      value: JSON.stringify({ ...e, ts: new Date(e.ts).toISOString(), value: e.value ?? undefined }),
    });
  }
  await produce(names.topic, byPartition);
  byPartition.forEach((messages, p) => {
    sentPerPartition[p] = (sentPerPartition[p] ?? 0) + messages.length;
  });
  produced.push(...events);
  // Every event is in ClickHouse and Redis once the worker committed past it.
  await waitForCommitted(names, sentPerPartition, 90_000);
}

const countBy = (events: readonly ClickEvent[], field: "url" | "type") => {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e[field], (counts.get(e[field]) ?? 0) + 1);
  return counts;
};

async function query(request: QueryRequest | Record<string, unknown>): Promise<QueryResponse> {
  const response = await fetch(`${gateway?.url}/api/v1/namespaces/${namespace}/query`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      "cache-control": "no-cache",
    },
    body: JSON.stringify(request),
  });
  if (!response.ok) throw new Error(`POST /query ${response.status}: ${await response.text()}`);
  return (await response.json()) as QueryResponse;
}

/** A panel's request as the stream makes it (the window panel: its window over the last hour), drilled by `filter`. */
function panelRequest(name: string, filter: QueryFilter): Record<string, unknown> {
  const panel = dashboardPanels.find((p) => p.name === name);
  if (panel === undefined) throw new Error(`no panel ${name}`);
  const base: Record<string, unknown> =
    panel.source.query !== undefined
      ? { ...panel.source.query }
      : { ...panel.source.window, timeRange: { preset: "last_1h" }, granularity: "none" };
  const own = base.filter as QueryFilter | undefined;
  return { ...base, filter: own === undefined ? filter : { op: "and", filters: [own, filter] } };
}

/** What a panel shows: label → exact value of each legend entry or bar, or metric → value of each stat. */
function panelValues(name: string): Promise<Record<string, number | null>> {
  return page.$$eval(`[data-panel="${name}"] [data-value]`, (elements) =>
    Object.fromEntries(
      elements.map((e) => {
        const owner = e.closest("[data-label]");
        const label = owner?.getAttribute("data-label") ?? e.getAttribute("data-metric") ?? "?";
        const raw = e.getAttribute("data-value") ?? "";
        return [label, raw === "" ? null : Number(raw)];
      }),
    ),
  );
}

const num = (v: ResultValue | undefined) => (v === null || v === undefined ? null : Number(v));
/** The value in the newest row (by the time column) of each series, keyed as the legend labels it. */
function newestBySeries(answer: QueryResponse, time: string, metrics: readonly string[], dimension?: string) {
  const newest = new Map<string, Record<string, ResultValue>>();
  for (const row of answer.rows) {
    const key = dimension === undefined ? "" : String(row[dimension]);
    const seen = newest.get(key);
    if (seen === undefined || String(row[time]) > String(seen[time])) newest.set(key, row);
  }
  const out: Record<string, number | null> = {};
  for (const [key, row] of newest)
    for (const m of metrics) {
      const label = key === "" ? m : metrics.length === 1 ? key : `${m} · ${key}`;
      out[label] = num(row[m]);
    }
  return out;
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  namespace = await createNamespace("gw-ui");
  names = runtimeTestNames("ui", namespace);
  const database = databaseFor(namespace);
  const manifest = pipelineManifest(names, (spec) => {
    spec.windows = spec.windows?.filter((w) => w.type !== "session");
    spec.sink.clickhouse.database = database;
  });
  const spec = planOf(manifest).spec;
  await clickhouse.command({
    query: `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database, "database")}`,
  });
  for (const statement of [...renderRawTableDdl(spec).statements, ...renderWindowTableDdl(spec).statements])
    await clickhouse.command({ query: statement });
  const rollups = await createExampleRollups(clickhouse, namespace, names.pipeline, {
    database,
    table: spec.sink.clickhouse.table,
    eventTimeField: spec.eventTime.field,
    fields: new Map(spec.fields.map((f) => [f.name, { type: f.type, nullable: f.nullable }])),
  });

  // The objects as the operator would leave them: Ready, the rollups serving their version 1 tables.
  await kubectlOk(["apply", "-f", "-"], manifest);
  await markReady("pipeline", names.pipeline, namespace, {
    message: "1 runtime pod consuming",
    status: { replicas: 1, readyReplicas: 1 },
  });
  for (const rollup of rollups) {
    const name = rollup.metadata?.name ?? "";
    await kubectlOk(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: rollup.apiVersion,
        kind: "Rollup",
        metadata: { name, namespace },
        spec: rollup.spec,
      }),
    );
    await markReady("rollup", name, namespace, {
      message: `serving ${rollup.status?.table}`,
      status: rollup.status,
    });
  }
  const [dashboard] = exampleManifests("clickstream-dashboard.yaml", namespace);
  if (dashboard?.spec === undefined) throw new Error("no example Dashboard");
  dashboardPanels = dashboard.spec.panels as typeof dashboardPanels;
  for (const panel of dashboardPanels) {
    if (panel.source.query !== undefined) panel.source.query.pipeline = names.pipeline;
    if (panel.source.window !== undefined) panel.source.window.pipeline = names.pipeline;
  }
  await kubectlOk(["apply", "-f", "-"], JSON.stringify(dashboard));
  await applyTokenSecret(namespace, "ui-token", { token, namespaces: namespace });

  await createTopics(names, partitions);
  worker = WorkerProcess.start(writeManifest(manifest), "gw-ui", {}, []);
  gateway = await startGateway({ namespace, tokenSecrets: [`${namespace}/ui-token`] });
  await send(makeEvents(160, 0, 240_000));

  browser = await launchBrowser();
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1100 } });
  page = await context.newPage();
  page.on("console", (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) cspViolations.push(message.text());
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await worker?.stop();
  if (namespace !== undefined) {
    await clickhouse.command({
      query: `DROP DATABASE IF EXISTS ${quoteIdentifier(databaseFor(namespace), "database")}`,
    });
    await deleteNamespace(namespace);
  }
  await clickhouse.close();
});

describe("web UI in Chromium", () => {
  it("refuses a wrong token with the API's reason, then signs in without putting the token in the address", async () => {
    await page.goto(`${gateway?.url}/ui/`);
    await page.fill('[data-testid="token"]', "not-the-token");
    await page.fill('[data-testid="login-namespace"]', namespace);
    await page.click('[data-testid="sign-in"]');
    await page.locator('[data-testid="login-message"]').filter({ hasText: "Token refused" }).waitFor();
    expect(await page.textContent('[data-testid="login-message"]')).toMatch(/^Token refused: /);

    await page.fill('[data-testid="token"]', token);
    await page.click('[data-testid="sign-in"]');
    await page.waitForSelector('[data-testid="resources-page"] section.resource');
    expect(page.url()).toBe(`${gateway?.url}/ui/#/ns/${namespace}`);
    expect(page.url()).not.toContain(token);
    expect(await page.evaluate("sessionStorage.getItem('tally.token')")).toBe(token);
  });

  it("shows the status page: each kind with its Ready and conditions as kubectl describe lists them", async () => {
    const pipeline = page.locator(`section.resource[data-kind="Pipeline"][data-name="${names.pipeline}"]`);
    await pipeline.waitFor();
    expect(await pipeline.locator('[data-testid="ready"]').textContent()).toBe("Ready: True");
    const cells = await pipeline.locator('tr[data-condition="Ready"] td').allTextContents();
    expect(cells.slice(0, 4)).toEqual(["Ready", "True", "Ready", "1 runtime pod consuming"]);
    expect(cells[4]).toMatch(/ago$/);
    expect(await page.locator('section.resource[data-kind="Rollup"]').count()).toBe(3);
    // No operator runs here: the dashboard has no status yet, and the page says so.
    const dashboard = page.locator('section.resource[data-kind="Dashboard"][data-name="clickstream"]');
    expect(await dashboard.locator('[data-testid="ready"]').textContent()).toBe("Ready: Unknown");
    await page.screenshot({ path: join(artifacts, "gateway-ui-status.png"), fullPage: true });
  });

  it("opens the dashboard live, and a panel changes to the counts of newly produced events", async () => {
    await page.click('section.resource[data-kind="Dashboard"] h3 a');
    await page.waitForSelector('[data-testid="stream-state"][data-state="live"]');
    await eventually(async () => expect(await page.locator("[data-panel]").count()).toBe(5), 30_000);
    const expectUrls = async () => {
      const counts = Object.fromEntries(countBy(produced, "url"));
      await eventually(async () => expect(await panelValues("top_urls")).toEqual(counts), 30_000);
      return counts;
    };
    const before = await expectUrls();
    await send(makeEvents(90, 1, 10_000));
    const after = await expectUrls();
    expect(after).not.toEqual(before);
    await page.screenshot({ path: join(artifacts, "gateway-ui-dashboard.png"), fullPage: true });
  });

  it("drills down by a series: every panel equals the filtered POST /query answer; the breadcrumb goes back", async () => {
    await page.click('[data-panel="events_by_type"] [data-testid="series"][data-label="purchase"]');
    await page.waitForSelector('[data-testid="crumb-current"]');
    expect(await page.textContent('[data-testid="crumb-current"]')).toBe("type = purchase");
    const filter: QueryFilter = { op: "eq", field: "type", value: "purchase" };

    await eventually(async () => {
      const byType = await query(panelRequest("events_by_type", filter));
      expect(await panelValues("events_by_type")).toEqual(newestBySeries(byType, "time", ["events"], "type"));
      expect(Object.keys(await panelValues("events_by_type"))).toEqual(["purchase"]);

      const users = await query(panelRequest("users", filter));
      expect(await panelValues("users")).toEqual({ users: num(users.rows[0]?.users) });

      const topUrls = await query(panelRequest("top_urls", filter));
      const shown = await panelValues("top_urls");
      expect(shown).toEqual(Object.fromEntries(topUrls.rows.map((r) => [String(r.url), num(r.events)])));
      // …and what the events say, counted here: purchases by url.
      expect(shown).toEqual(
        Object.fromEntries(
          countBy(
            produced.filter((e) => e.type === "purchase"),
            "url",
          ),
        ),
      );

      const value = await query(panelRequest("purchase_value", filter));
      expect(await panelValues("purchase_value")).toEqual(newestBySeries(value, "time", ["purchase_value"]));

      const live = await query(panelRequest("live_events", filter));
      expect(live.rows.length).toBeGreaterThan(0);
      expect(await panelValues("live_events")).toEqual(
        newestBySeries(live, "window_start", ["events", "users"], "type"),
      );
    }, 45_000);
    await page.screenshot({ path: join(artifacts, "gateway-ui-drilled.png"), fullPage: true });

    // A second step, by a bar: purchases on /cart. The live window has no url: that panel shows its
    // error and the field at fault, the others serve.
    await page.click('[data-panel="top_urls"] [data-testid="bar"][data-label="/cart"]');
    await page.locator('[data-testid="crumb-current"]', { hasText: "url = /cart" }).waitFor();
    const cartPurchases = produced.filter((e) => e.type === "purchase" && e.url === "/cart").length;
    await eventually(async () => {
      expect(await panelValues("top_urls")).toEqual({ "/cart": cartPurchases });
      expect(await panelValues("events_by_type")).toEqual(
        newestBySeries(
          await query(
            panelRequest("events_by_type", {
              op: "and",
              filters: [filter, { op: "eq", field: "url", value: "/cart" }],
            }),
          ),
          "time",
          ["events"],
          "type",
        ),
      );
      const windowPanel = page.locator('[data-panel="live_events"][data-status="error"] [role="alert"]');
      expect(await windowPanel.textContent()).toMatch(/url.*\(field: [^)]+\)$/);
    }, 30_000);
    // The breadcrumb's middle step goes back to purchases only.
    await page.click('[data-testid="breadcrumb"] [data-testid="crumb"]:has-text("type = purchase")');
    await page.locator('[data-testid="crumb-current"]', { hasText: "type = purchase" }).waitFor();
    await eventually(async () => {
      expect(await panelValues("top_urls")).toEqual(
        Object.fromEntries(
          countBy(
            produced.filter((e) => e.type === "purchase"),
            "url",
          ),
        ),
      );
    }, 30_000);

    await page.click('[data-testid="breadcrumb"] [data-testid="crumb"]');
    await page.locator('[data-testid="crumb-current"]').waitFor({ state: "detached" });
    expect(page.url()).not.toContain("drill");
    await eventually(async () => {
      expect(Object.keys(await panelValues("events_by_type")).sort()).toEqual([...types].sort());
    }, 30_000);
  });

  it("answers from the query builder, showing the table the router chose as POST /query's explain says", async () => {
    await page.click('[data-testid="nav-query"]');
    await page
      .locator('[data-testid="source"]')
      .selectOption({ label: `Rollup clicks-per-minute (pipeline ${names.pipeline})` });
    await page.locator('[data-testid="metrics"] input[value="events"]').check();
    await page.locator('[data-testid="dimensions"] input[value="type"]').check();
    await page.click('[data-testid="run"]');
    await page.locator('[data-testid="chosen-table"]').waitFor();
    const answer = await query({
      pipeline: names.pipeline,
      metrics: ["events"],
      dimensions: ["type"],
      timeRange: { preset: "last_1h" },
      granularity: "none",
    });
    const source = answer.explain.source;
    expect(await page.textContent('[data-testid="chosen-table"]')).toBe(
      `Table: ${source.table} (${source.kind} ${source.name})`,
    );
    const rows = await page.locator('[data-testid="answer"] tbody tr').allTextContents();
    expect(rows).toHaveLength(types.length);
    // Explain only: the plan and its SQL, nothing run.
    await page.click('[data-testid="explain-only"]');
    await page.locator('[data-testid="sql"]').waitFor();
    expect(await page.textContent('[data-testid="sql"]')).toMatch(/SELECT/i);
    await page.goBack();
  });

  it("exports a panel as CSV and loads every page without a Content-Security-Policy violation", async () => {
    await page.locator('[data-panel="top_urls"] [data-testid="bar"]').first().waitFor();
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click('[data-panel="top_urls"] [data-testid="csv"]'),
    ]);
    expect(download.suggestedFilename()).toBe("clickstream-top_urls.csv");
    const csv = readFileSync(await download.path(), "utf8");
    const [head, ...lines] = csv.trimEnd().split("\r\n");
    expect(head).toBe("url,events");
    const counts = countBy(produced, "url");
    expect(Object.fromEntries(lines.map((l) => [l.split(",")[0], Number(l.split(",")[1])]))).toEqual(
      Object.fromEntries(counts),
    );
    expect(cspViolations).toEqual([]);
  });
});
