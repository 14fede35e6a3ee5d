import { stringify } from "yaml";
import { type ResourceDefinition, renderCrd } from "./resources.js";

const generatedHeader = "# Generated from api/v1alpha1 by `npm run generate`; do not edit.\n";

export function renderCrdYaml(definition: ResourceDefinition): string {
  // kubectl reads YAML 1.1, where an unquoted off, on, yes or no is a boolean: render as 1.1, which quotes them.
  return generatedHeader + stringify(renderCrd(definition), { lineWidth: 0, version: "1.1" });
}
