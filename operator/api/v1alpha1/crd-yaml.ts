import { stringify } from "yaml";
import { type ResourceDefinition, renderCrd } from "./resources.js";

const generatedHeader = "# Generated from operator/api/v1alpha1 by `npm run generate`; do not edit.\n";

export function renderCrdYaml(definition: ResourceDefinition): string {
  return generatedHeader + stringify(renderCrd(definition), { lineWidth: 0 });
}
