/**
 * Writes `crds/<plural>.tally.dev.yaml` from the typed source (`npm run generate`).
 * `crds.test.ts` fails when the committed files differ from what this renders.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { renderCrdYaml } from "./crd-yaml.js";
import { group, resourceDefinitions } from "./resources.js";

const crdDir = resolve(import.meta.dirname, "..", "..", "..", "crds");
for (const definition of resourceDefinitions) {
  const file = join(crdDir, `${definition.plural}.${group}.yaml`);
  writeFileSync(file, renderCrdYaml(definition));
  console.log(`wrote ${file}`);
}
