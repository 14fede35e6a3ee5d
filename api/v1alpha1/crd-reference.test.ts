import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { renderCrdReference } from "./crd-reference.js";
import { resourceDefinitions } from "./resources.js";

const root = resolve(import.meta.dirname, "..", "..");
const reference = renderCrdReference(resourceDefinitions);

describe("the CR field reference", () => {
  it("docs/crd-reference.md is what `npm run generate` writes (run it after changing api/)", () => {
    expect(readFileSync(join(root, "docs", "crd-reference.md"), "utf8")).toBe(reference);
  });

  it("has a section per kind and a row for nested, array and defaulted fields with their descriptions", () => {
    for (const d of resourceDefinitions) expect(reference).toContain(`## ${d.kind}\n`);
    const row = (path: string) => reference.split("\n").find((l) => l.startsWith(`| \`${path}\` |`));
    expect(row("spec.source.kind")).toContain("one of `Pipeline`, `Rollup`");
    expect(row("spec.source.kind")).toContain("| yes |");
    expect(row("spec.dimensions")).toContain("default `[]`");
    expect(row("spec.granularity")).toContain("Time bucket of each row");
    expect(reference).toMatch(/\| `spec\.fields\[\]\.name` \| string \| yes \|/);
  });
});
