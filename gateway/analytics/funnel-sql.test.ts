import { describe, expect, it } from "vitest";
import { type FunnelRequest, funnelDefaults } from "../../api/v1alpha1/funnel.js";
import { exampleCatalogue } from "../../contracts/catalogue/testdata/catalogue-fixtures.js";
import { refusalOf } from "../query/testdata/query-requests.js";
import { planFunnel } from "./funnel-plan.js";
import { renderFunnelQuery } from "./funnel-sql.js";

const now = Date.parse("2026-03-10T12:00:00Z");
const timeRange = { from: "2026-03-01T00:00:00Z", to: "2026-03-08T00:00:00Z" };

function request(ask: Partial<FunnelRequest> = {}): FunnelRequest {
  return {
    steps: [
      { event: { op: "eq", field: "type", value: "page_view" } },
      { event: { op: "eq", field: "url", value: "/it's-here" } },
      { event: { op: "eq", field: "type", value: "purchase" } },
    ],
    timeRange,
    timezone: "UTC",
    conversionWindowSeconds: funnelDefaults.conversionWindowSeconds,
    order: "ordered",
    exclusions: [],
    histogramBins: 10,
    ...ask,
  };
}

const render = (ask: Partial<FunnelRequest> = {}) =>
  renderFunnelQuery(planFunnel(exampleCatalogue(), request(ask), now));
const refusal = (ask: Partial<FunnelRequest>) =>
  refusalOf(() => planFunnel(exampleCatalogue(), request(ask), now));

describe("renderFunnelQuery", () => {
  it("binds every value as a parameter: step values, range, window, step count", () => {
    const { sql, params } = render();
    expect(sql).not.toContain("it's");
    expect(sql).not.toContain("page_view");
    expect(Object.values(params)).toEqual(
      expect.arrayContaining([
        "page_view",
        "/it's-here",
        "purchase",
        Date.parse(timeRange.from),
        Date.parse(timeRange.to),
        3,
        14 * 86_400_000,
      ]),
    );
    expect(sql).toContain("FROM `default`.`clickstream_events`");
    expect(sql).toContain("`user_id` AS _e");
  });

  it("ordered mode reads only step and exclusion events; strict mode reads every event and drops kept paths", () => {
    expect(render().sql).toContain("(_s != 0 OR _x != 0)");
    const strict = render({ order: "strict" }).sql;
    expect(strict).not.toContain("(_s != 0 OR _x != 0)");
    expect(strict).toContain("if(1 OR bitTest(x.5, j)");
    expect(render().sql).toContain("if(0 OR bitTest(x.5, j)");
  });

  it("an exclusion sets the bit of every gap it covers", () => {
    const { sql } = render({
      exclusions: [{ event: { op: "eq", field: "type", value: "click" }, fromStep: 0, toStep: 2 }],
    });
    // Gaps 0 and 1 (three steps): bits 1 and 2 of _x.
    expect(sql).toMatch(
      /if\(ifNull\(`type` = \{p\d+:String\}, 0\), 1, 0\) \+ if\(ifNull\(`type` = \{p\d+:String\}, 0\), 2, 0\)\) AS _x/,
    );
  });

  it("any order anchors windows instead of folding; step attribution carries values in the fold", () => {
    expect(render({ order: "any" }).sql).toContain("groupBitOr");
    expect(render({ order: "any" }).sql).not.toContain("arrayFold");
    const attributed = render({
      breakdown: { field: "url", attribution: { type: "step", step: 1 }, limit: 25 },
    });
    expect(attributed.sql).toContain("toNullable(toString(`url`)) AS _v");
    expect(attributed.sql).toContain("if(st.2 > 1, st.5, NULL)");
  });

  it("a segment adds the entity IN (…) condition with its own range and count", () => {
    const { sql, params } = render({
      segment: { op: "has_not_done", event: { op: "eq", field: "type", value: "click" }, atLeast: 3 },
    });
    expect(sql).toContain("`user_id` NOT IN (SELECT `user_id` FROM `default`.`clickstream_events`");
    expect(sql).toMatch(/HAVING count\(\) >= \{p\d+:UInt64\}/);
    expect(Object.values(params)).toContain(3);
  });
});

describe("planFunnel refusals name the field", () => {
  it.each([
    [
      { exclusions: [{ event: { op: "eq", field: "type", value: "x" }, fromStep: 0, toStep: 3 }] },
      "exclusions[0].toStep",
    ],
    [
      { exclusions: [{ event: { op: "eq", field: "type", value: "x" }, fromStep: 1, toStep: 1 }] },
      "exclusions[0].fromStep",
    ],
    [
      { exclusions: [{ event: { op: "eq", field: "nope", value: "x" }, fromStep: 0, toStep: 1 }] },
      "exclusions[0].event.field",
    ],
    [
      {
        order: "any",
        exclusions: [{ event: { op: "eq", field: "type", value: "x" }, fromStep: 0, toStep: 1 }],
      },
      "exclusions",
    ],
    [{ entity: "nope" }, "entity"],
    [{ breakdown: { field: "nope", attribution: { type: "first_touch" }, limit: 25 } }, "breakdown.field"],
    [
      { breakdown: { field: "url", attribution: { type: "step", step: 3 }, limit: 25 } },
      "breakdown.attribution.step",
    ],
    [
      { order: "any", breakdown: { field: "url", attribution: { type: "step", step: 1 }, limit: 25 } },
      "breakdown.attribution",
    ],
    [
      { segment: { op: "has_done", event: { op: "eq", field: "nope", value: "x" }, atLeast: 1 } },
      "segment.event.field",
    ],
    [
      {
        segment: {
          op: "has_done",
          event: { op: "eq", field: "type", value: "x" },
          timeRange: { from: "yesterday", to: "2026-03-01T00:00:00Z" },
        },
      },
      "segment.timeRange.from",
    ],
    [{ timeRange: { from: "2026-01-01T00:00:00Z", to: "2026-03-01T00:00:00Z" } }, "timeRange"],
  ] as [Partial<FunnelRequest>, string][])("%j → %s", (ask, field) => {
    expect(refusal(ask).field).toBe(field);
  });

  it("names the step whose filter is wrong", () => {
    const steps = [...request().steps, { event: { op: "eq" as const, field: "nope", value: "x" } }];
    expect(refusal({ steps }).field).toBe("steps[3].event.field");
  });
});

describe("segmentCondition (the hook retention and sessions call)", () => {
  it("is undefined without a segment and the IN condition with one, its values bound", async () => {
    const { segmentCondition } = await import("./segment-sql.js");
    const { Params } = await import("../query/render-query-sql.js");
    const raw = exampleCatalogue().pipelines.get("clickstream")?.raw;
    if (raw === undefined) throw new Error("no example pipeline");
    const context = {
      raw,
      entityField: "user_id",
      range: { fromMs: 0, toMs: 86_400_000 },
      timezone: "UTC",
      nowMs: now,
      rawMaxRangeMs: 31 * 86_400_000,
    };
    const params = new Params();
    expect(segmentCondition(undefined, context, params)).toBeUndefined();
    const sql = segmentCondition(
      { op: "has_done", event: { op: "eq", field: "type", value: "purchase" } },
      context,
      params,
    );
    expect(sql).toMatch(/^`user_id` IN \(SELECT `user_id` FROM `default`.`clickstream_events` WHERE/);
    expect(Object.values(params.values)).toEqual([0, 86_400_000, "purchase", 1]);
  });
});
