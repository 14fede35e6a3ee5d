import { describe, expect, it } from "vitest";
import { parseRoute, routeHref } from "./page-route.js";

describe("page address", () => {
  it("reads each page and writes it back the same", () => {
    const routes = [
      { page: "login" },
      { page: "resources", namespace: "tally-demo" },
      { page: "query", namespace: "tally-demo" },
      { page: "dashboard", namespace: "tally-demo", name: "clickstream", drill: [] },
      {
        page: "dashboard",
        namespace: "tally-demo",
        name: "clickstream",
        drill: [
          { field: "type", value: "a&b=c?#" },
          { field: "status", value: 404 },
        ],
      },
    ] as const;
    for (const route of routes) expect(parseRoute(routeHref(route)), routeHref(route)).toEqual(route);
    expect(parseRoute("")).toEqual({ page: "login" });
  });

  it("says what is wrong with an address that names no page", () => {
    expect(parseRoute("#/ns/Bad_NS")).toEqual({
      page: "invalid",
      message: 'namespace "Bad_NS" is not a DNS label.',
    });
    expect(parseRoute("#/elsewhere")).toEqual({ page: "invalid", message: "No page at /elsewhere." });
    expect(parseRoute("#/ns/a/dashboards/x?drill=%5B1%5D")).toEqual({
      page: "invalid",
      message: "drill[0]: the field must be a field name",
    });
  });
});
