/**
 * Writes `crds/<plural>.tally.dev.yaml`, and the Helm chart's copy in `charts/tally/crds/`, from
 * the typed source (`npm run generate`). `crds.test.ts` fails when either differs from it.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { renderCrdYaml } from "../api/v1alpha1/crd-yaml.js";
import { group, resourceDefinitions } from "../api/v1alpha1/resources.js";

const root = resolve(import.meta.dirname, "..");
for (const dir of [join(root, "crds"), join(root, "charts", "tally", "crds")]) {
  for (const definition of resourceDefinitions) {
    const file = join(dir, `${definition.plural}.${group}.yaml`);
    writeFileSync(file, renderCrdYaml(definition));
    console.log(`wrote ${file}`);
  }
}
