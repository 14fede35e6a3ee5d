/**
 * Writes gateway/openapi.json from the gateway's route table (`npm run generate`); the gateway serves
 * the same document and gateway/http/openapi.test.ts fails when the committed file differs.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildOpenApiDocument, renderOpenApiJson } from "../gateway/http/openapi.js";

const file = join(resolve(import.meta.dirname, ".."), "gateway", "openapi.json");
writeFileSync(file, renderOpenApiJson(buildOpenApiDocument()));
console.log(`wrote ${file}`);
