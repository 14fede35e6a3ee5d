/**
 * The query builder: pick a source (GET /sources: a pipeline's raw table, a rollup or a live window),
 * its metrics and dimensions, a range and a granularity; run it (POST /query) or only explain it
 * (?explain=true, the plan and the SQL without running). The answer shows the table the router chose,
 * why every other candidate was not used, the cache status, and the rows (exportable as CSV).
 */
import type {
  QueryExplain,
  QueryResponse,
  SourceDescription,
  SourcesResponse,
} from "../../../api/v1alpha1/query.js";
import { api } from "./api-client.js";
import { handleRefusedToken, header } from "./app-shell.js";
import { responseToCsv } from "./csv.js";
import { formatNumber, h, onClick, replaceContent } from "./dom.js";
import { failureView, loadingView } from "./failure-view.js";
import { buildQueryBody, queryGranularityChoices, rangePresetChoices } from "./query-form.js";

function select(name: string, values: readonly string[], chosen: string): HTMLSelectElement {
  return h(
    "select",
    { name, "data-testid": name },
    ...values.map((v) => h("option", { value: v, selected: v === chosen }, v)),
  );
}

function checkboxes(name: string, values: readonly string[], checked: readonly string[]): HTMLElement {
  return h(
    "fieldset",
    { "data-testid": name },
    h("legend", {}, name),
    ...values.map((v) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", name, value: v, checked: checked.includes(v) }),
        ` ${v}`,
      ),
    ),
  );
}

const ticked = (root: HTMLElement, name: string) =>
  [...root.querySelectorAll<HTMLInputElement>(`input[name="${name}"]:checked`)].map((i) => i.value);

function explainView(explain: QueryExplain): HTMLElement {
  const s = explain.source;
  return h(
    "section",
    { class: "explain", "data-testid": "explain" },
    h("h2", {}, "How it was answered"),
    h("p", { "data-testid": "chosen-table" }, `Table: ${s.table} (${s.kind} ${s.name})`),
    h(
      "p",
      {},
      `Range ${explain.range.from} → ${explain.range.to} · cache ${explain.cache.status}`,
      explain.rowsRead === undefined ? "" : ` · ${formatNumber(explain.rowsRead)} rows read`,
      explain.elapsedMs === undefined ? "" : ` · ${formatNumber(explain.elapsedMs)} ms`,
      explain.approximate.length === 0 ? "" : ` · estimates: ${explain.approximate.join(", ")}`,
    ),
    explain.segments.length > 1
      ? h("ul", {}, ...explain.segments.map((g) => h("li", {}, `${g.from} → ${g.to}: ${g.source.table}`)))
      : null,
    h(
      "table",
      { class: "candidates" },
      h("thead", {}, h("tr", {}, h("th", {}, "Candidate"), h("th", {}, "Chosen"), h("th", {}, "Why"))),
      h(
        "tbody",
        {},
        ...explain.candidates.map((c) =>
          h(
            "tr",
            {},
            h("td", {}, `${c.kind} ${c.name}`),
            h("td", {}, c.chosen ? "yes" : "no"),
            h("td", { class: "message" }, c.reason),
          ),
        ),
      ),
    ),
    explain.sql === undefined ? null : h("pre", { class: "sql", "data-testid": "sql" }, explain.sql),
  );
}

function rowsView(response: QueryResponse): HTMLElement {
  const names = response.columns.map((c) => c.name);
  const csv = onClick(h("button", { type: "button", "data-testid": "csv" }, "Export CSV"), () => {
    const url = URL.createObjectURL(new Blob([responseToCsv(response)], { type: "text/csv;charset=utf-8" }));
    const link = h("a", { href: url, download: "query.csv" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
  return h(
    "section",
    { "data-testid": "answer" },
    h("h2", {}, `Answer (${response.rows.length} rows) `, csv),
    h(
      "table",
      { class: "data" },
      h("thead", {}, h("tr", {}, ...names.map((n) => h("th", {}, n)))),
      h(
        "tbody",
        {},
        ...response.rows.map((row) => h("tr", {}, ...names.map((n) => h("td", {}, String(row[n] ?? ""))))),
      ),
    ),
  );
}

export function renderQueryPage(container: HTMLElement, route: { namespace: string }): () => void {
  const main = h("main", { "data-testid": "query-page" }, loadingView(`the sources of ${route.namespace}`));
  container.replaceChildren(header(route.namespace), main);
  let stopped = false;
  void (async () => {
    const answer = await api.get<SourcesResponse>(route.namespace, "sources");
    if (stopped) return;
    if (!answer.ok) {
      if (!handleRefusedToken(answer.failure)) replaceContent(main, failureView(answer.failure, "Sources"));
      return;
    }
    const sources = answer.value.sources.filter((s) => s.ready);
    if (sources.length === 0) {
      replaceContent(main, h("p", {}, `No source of ${route.namespace} is ready to answer queries.`));
      return;
    }
    const labelOf = (s: SourceDescription) =>
      `${s.kind} ${s.name}${s.kind === "Pipeline" ? "" : ` (pipeline ${s.pipeline})`}`;
    const sourceSelect = select("source", sources.map(labelOf), labelOf(sources[0] as SourceDescription));
    const fields = h("div", {});
    const result = h("div", {});
    const range = select("range", rangePresetChoices, "last_1h");
    const granularity = select("granularity", queryGranularityChoices, "none");
    const current = () => sources[sourceSelect.selectedIndex] ?? (sources[0] as SourceDescription);
    const showFields = () => {
      const s = current();
      const metricNames = s.metrics.map((m) => m.name);
      replaceContent(
        fields,
        checkboxes("metrics", metricNames, metricNames.slice(0, 1)),
        checkboxes("dimensions", s.dimensions, []),
      );
    };
    sourceSelect.addEventListener("change", showFields);
    showFields();
    const run = async (explainOnly: boolean) => {
      const form = buildQueryBody({
        source: current(),
        metrics: ticked(fields, "metrics"),
        dimensions: ticked(fields, "dimensions"),
        range: range.value,
        granularity: granularity.value,
      });
      if (!form.ok)
        return replaceContent(
          result,
          failureView({ status: 0, headline: "Not a query yet", message: form.message }),
        );
      replaceContent(result, loadingView("the answer"));
      const reply = await api.post<QueryResponse>(
        route.namespace,
        `query${explainOnly ? "?explain=true" : ""}`,
        form.body,
      );
      if (!reply.ok) {
        if (!handleRefusedToken(reply.failure)) replaceContent(result, failureView(reply.failure, "Query"));
        return;
      }
      replaceContent(result, explainView(reply.value.explain), explainOnly ? null : rowsView(reply.value));
    };
    const runButton = onClick(
      h("button", { type: "button", "data-testid": "run" }, "Run"),
      () => void run(false),
    );
    const explainButton = onClick(
      h("button", { type: "button", "data-testid": "explain-only" }, "Explain only"),
      () => void run(true),
    );
    replaceContent(
      main,
      h("h1", {}, "Query"),
      h(
        "form",
        { class: "query-form" },
        h("label", {}, "Source ", sourceSelect),
        fields,
        h("label", {}, "Range ", range),
        h("label", {}, "Granularity ", granularity),
        h("div", {}, runButton, " ", explainButton),
      ),
      result,
    );
  })();
  return () => {
    stopped = true;
  };
}
