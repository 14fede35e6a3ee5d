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
    const operations = Object.values(document.paths).flatMap((p) => Object.entries(p));
    // The documented routes and the collector's.
    expect(operations).toHaveLength(documentedRoutes.length + 1);
    for (const [method, operation] of operations) {
      const refusal =
        method === "post" && "202" in operation.responses ? "CollectErrorResponse" : "ErrorResponse";
      for (const status of ["400", "401", "403", "404", "422", "429"])
        expect(operation.responses[status]?.content, status).toEqual({
          "application/json": { schema: { $ref: `#/components/schemas/${refusal}` } },
        });
    }
    // The collector: both body forms (the envelope is what a beacon can send), 413 and 415 of its own.
    const collect = document.paths["/api/v1/namespaces/{namespace}/pipelines/{name}/events"]?.post as
      | { requestBody: { content: Record<string, unknown> }; responses: Record<string, unknown> }
      | undefined;
    expect(Object.keys(collect?.requestBody.content ?? {})).toEqual(["application/json", "text/plain"]);
    expect(Object.keys(collect?.responses ?? {})).toEqual(
      expect.arrayContaining(["202", "413", "415", "503"]),
    );
    // Every reference resolves to a component: the recursive filter included.
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]);
    for (const ref of new Set(refs))
      expect(Object.keys(document.components.schemas)).toContain(ref?.replace("#/components/schemas/", ""));
  });
});
