/**
 * One panel of a dashboard, updated in place as snapshots arrive: a uPlot chart for time series and
 * bars over time (redrawn with setData while its series stay the same), ranked bars for top-N and bars
 * by category, a big number for stat, a table. A click on a series (its legend entry or the line near
 * the pointer), a bar or a table row drills down by its dimension values. A panel error shows its
 * message and field. Each panel exports its current answer as CSV.
 */
import uPlot from "uplot";
import type { QueryResponse } from "../../../api/v1alpha1/query.js";
import {
  type ChartModel,
  chartModel,
  type DrillKey,
  lastValue,
  rankedRows,
  rowKey,
  statValues,
  timeAxisRange,
} from "./chart-series.js";
import { csvFileName, responseToCsv } from "./csv.js";
import type { PanelSnapshot } from "./dashboard-snapshot.js";
import { formatNumber, h, onClick, replaceContent } from "./dom.js";
import { failureView } from "./failure-view.js";

export type DrillHandler = (key: readonly DrillKey[]) => void;

const palette = ["#2f6fdf", "#e4572e", "#29a36a", "#a044d6", "#f2a541", "#17a2b8", "#d63384", "#6c757d"];
const colour = (i: number) => palette[i % palette.length] ?? "#2f6fdf";

/** The exact number behind a formatted one (tests and scripts read it; the page shows the formatted one). */
const rawValue = (value: number | null) => (value === null ? "" : String(value));

function drillable(
  element: HTMLElement,
  key: readonly DrillKey[] | undefined,
  drill: DrillHandler,
): HTMLElement {
  if (key === undefined || key.length === 0) return element;
  element.classList.add("drillable");
  element.title = `Filter the dashboard by ${key.map((k) => `${k.field} = ${String(k.value)}`).join(" and ")}`;
  // Reachable and usable from the keyboard too.
  element.tabIndex = 0;
  element.setAttribute("role", "button");
  element.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      drill(key);
    }
  });
  return onClick(element, () => drill(key));
}

function barsView(
  items: { label: string; key: readonly DrillKey[] | undefined; value: number | null }[],
  drill: DrillHandler,
) {
  const max = Math.max(1, ...items.map((i) => i.value ?? 0));
  return h(
    "ol",
    { class: "bars" },
    ...items.map((item, i) => {
      const bar = h("span", { class: "bar" });
      bar.style.width = `${(100 * (item.value ?? 0)) / max}%`;
      bar.style.background = colour(i);
      return drillable(
        h(
          "li",
          { "data-testid": "bar", "data-label": item.label },
          h("span", { class: "bar-label" }, item.label),
          bar,
          h(
            "span",
            { class: "bar-value", "data-testid": "value", "data-value": rawValue(item.value) },
            formatNumber(item.value),
          ),
        ),
        item.key,
        drill,
      );
    }),
  );
}

function tableView(response: QueryResponse, drill: DrillHandler): HTMLElement {
  const names = response.columns.map((c) => c.name);
  return h(
    "table",
    { class: "data" },
    h("thead", {}, h("tr", {}, ...names.map((n) => h("th", {}, n)))),
    h(
      "tbody",
      {},
      ...response.rows.map((row) =>
        drillable(
          h(
            "tr",
            { "data-testid": "row" },
            ...names.map((n) => {
              const v = row[n];
              return h("td", { "data-column": n }, typeof v === "number" ? formatNumber(v) : String(v ?? ""));
            }),
          ),
          rowKey(response, row),
          drill,
        ),
      ),
    ),
  );
}

function statView(response: QueryResponse): HTMLElement {
  return h(
    "div",
    { class: "stats" },
    ...statValues(response).map((s) =>
      h(
        "div",
        { class: "stat" },
        h(
          "span",
          {
            class: "stat-value",
            "data-testid": "stat-value",
            "data-metric": s.metric,
            "data-value": rawValue(s.value),
          },
          formatNumber(s.value),
        ),
        h("span", { class: "stat-label" }, s.metric),
      ),
    ),
  );
}

type TimeModel = Extract<ChartModel, { kind: "time" }>;

export class PanelView {
  readonly element: HTMLElement;
  private readonly titleElement = h("h3", {});
  private readonly body = h("div", { class: "panel-body" });
  private readonly footer = h("div", { class: "panel-footer" });
  private latest: QueryResponse | undefined;
  private chart: { plot: uPlot; shape: string; model: TimeModel } | undefined;
  private focused: number | null = null;

  constructor(
    private readonly dashboard: string,
    private readonly name: string,
    private readonly drill: DrillHandler,
  ) {
    const csv = onClick(h("button", { type: "button", class: "link", "data-testid": "csv" }, "CSV"), () =>
      this.exportCsv(),
    );
    this.element = h(
      "section",
      { class: "panel", "data-panel": name },
      h("div", { class: "panel-head" }, this.titleElement, csv),
      this.body,
      this.footer,
    );
  }

  update(panel: PanelSnapshot): void {
    this.titleElement.textContent = panel.title ?? panel.name;
    this.element.dataset.visualization = panel.visualization;
    this.element.dataset.status = panel.status;
    if (panel.status === "error") {
      this.latest = undefined;
      this.dropChart();
      replaceContent(
        this.body,
        failureView({
          status: 0,
          headline: panel.error.error,
          message: panel.error.message,
          ...(panel.error.field === undefined ? {} : { field: panel.error.field }),
        }),
      );
      replaceContent(this.footer);
      return;
    }
    const response = panel.response;
    this.latest = response;
    const source = response.explain.source;
    replaceContent(
      this.footer,
      `${response.rows.length} ${response.rows.length === 1 ? "row" : "rows"} from ${source.kind} ${source.name} (${source.table}) · cache ${response.explain.cache.status}`,
    );
    const model =
      panel.visualization === "timeseries" || panel.visualization === "bar"
        ? chartModel(response)
        : undefined;
    if (model?.kind === "time") {
      this.drawTimeChart(model, panel.visualization === "bar");
      return;
    }
    this.dropChart();
    if (model?.kind === "categories")
      replaceContent(
        this.body,
        barsView(
          model.categories.map((c, i) => ({
            label: c.label,
            key: c.key,
            value: model.series[0]?.values[i] ?? null,
          })),
          this.drill,
        ),
      );
    else if (panel.visualization === "stat") replaceContent(this.body, statView(response));
    else if (panel.visualization === "topN")
      replaceContent(this.body, barsView(rankedRows(response), this.drill));
    else replaceContent(this.body, tableView(response, this.drill));
  }

  destroy(): void {
    this.dropChart();
  }

  private dropChart(): void {
    this.chart?.plot.destroy();
    this.chart = undefined;
  }

  private legend(model: TimeModel): HTMLElement {
    return h(
      "ul",
      { class: "legend" },
      ...model.series.map((s, i) => {
        const swatch = h("span", { class: "swatch" });
        swatch.style.background = colour(i);
        return drillable(
          h(
            "li",
            { "data-testid": "series", "data-label": s.label },
            swatch,
            h("span", {}, s.label),
            h(
              "span",
              { class: "series-last", "data-testid": "value", "data-value": rawValue(lastValue(s.values)) },
              formatNumber(lastValue(s.values)),
            ),
          ),
          s.key,
          this.drill,
        );
      }),
    );
  }

  private drawTimeChart(model: TimeModel, bars: boolean): void {
    const data: uPlot.AlignedData = [model.xs, ...model.series.map((s) => s.values)];
    const shape = `${bars}|${model.series.map((s) => s.label).join("\u0000")}`;
    const legend = this.legend(model);
    if (this.chart !== undefined && this.chart.shape === shape) {
      this.chart.plot.setData(data);
      this.chart.model = model;
      this.body.lastElementChild?.replaceWith(legend);
      return;
    }
    this.dropChart();
    const holder = h("div", { class: "chart" });
    replaceContent(this.body, holder, legend);
    const barPaths = bars ? uPlot.paths.bars?.({ size: [0.8, 48] }) : undefined;
    const plot = new uPlot(
      {
        width: Math.max(280, this.body.clientWidth || 520),
        height: 200,
        legend: { show: false },
        cursor: { focus: { prox: 24 } },
        focus: { alpha: 0.35 },
        scales: {
          x: { time: true, range: (u: uPlot) => timeAxisRange(u.data[0]) },
          // Bars grow from zero; a line keeps uPlot's range around its values.
          ...(bars
            ? {
                y: {
                  range: (_u: uPlot, min: number, max: number) => [Math.min(0, min), max > 0 ? max * 1.1 : 1],
                },
              }
            : {}),
        },
        series: [
          {},
          ...model.series.map((s, i) => ({
            label: s.label,
            stroke: colour(i),
            width: 2,
            ...(barPaths === undefined ? {} : { paths: barPaths, fill: `${colour(i)}99` }),
          })),
        ],
        hooks: {
          setSeries: [
            (_u: uPlot, index: number | null) => {
              this.focused = index;
            },
          ],
        },
      },
      data,
      holder,
    );
    // A click on the plot drills into the series nearest the pointer (uPlot's focus), if any.
    plot.over.addEventListener("click", () => {
      const series = this.focused === null ? undefined : this.chart?.model.series[this.focused - 1];
      if (series?.key !== undefined && series.key.length > 0) this.drill(series.key);
    });
    this.chart = { plot, shape, model };
  }

  private exportCsv(): void {
    if (this.latest === undefined) return;
    const blob = new Blob([responseToCsv(this.latest)], { type: "text/csv;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: csvFileName(this.dashboard, this.name) });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}
