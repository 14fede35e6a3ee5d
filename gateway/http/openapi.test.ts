import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument, documentedRoutes, renderOpenApiJson } from "./openapi.js";

const committed = join(resolve(import.meta.dirname, "..", ".."), "gateway", "openapi.json");

describe("OpenAPI document", () => {
  it("is committed in gateway/openapi.json exactly as the route table renders it (run `npm run generate`)", () => {
    expect(readFileSync(committed, "utf8")).toBe(renderOpenApiJson(buildOpenApiDocument()));
  });

  it("declares bearer auth and an ErrorResponse for every refusal of every operation", () => {
    const document = buildOpenApiDocument() as {
      components: { securitySchemes: unknown; schemas: Record<string, unknown> };
      paths: Record<string, Record<string, { responses: Record<string, { content: unknown }> }>>;
    };
    expect(document.components.securitySchemes).toMatchObject({ bearer: { type: "http", scheme: "bearer" } });
    const operations = Object.values(document.paths).flatMap((p) => Object.values(p));
    expect(operations).toHaveLength(documentedRoutes.length);
    for (const operation of operations)
      for (const status of ["400", "401", "403", "404", "422", "429"])
        expect(operation.responses[status]?.content, status).toEqual({
          "application/json": { schema: { $ref: "#/components/schemas/ErrorResponse" } },
        });
    // Every reference resolves to a component: the recursive filter included.
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]);
    for (const ref of new Set(refs))
      expect(Object.keys(document.components.schemas)).toContain(ref?.replace("#/components/schemas/", ""));
  });
});
