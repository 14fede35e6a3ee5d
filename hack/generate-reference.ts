/** Writes docs/crd-reference.md from the typed source (`npm run generate`); crd-reference.test.ts checks it. */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { renderCrdReference } from "../api/v1alpha1/crd-reference.js";
import { resourceDefinitions } from "../api/v1alpha1/resources.js";

const file = join(resolve(import.meta.dirname, ".."), "docs", "crd-reference.md");
writeFileSync(file, renderCrdReference(resourceDefinitions));
console.log(`wrote ${file}`);
