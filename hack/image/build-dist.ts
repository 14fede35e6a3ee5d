/**
 * Bundles the three programs and the image's entry point into dist/ (what the Dockerfile's build stage runs):
 * one ES module per program with npm packages left external (the image installs them with
 * `npm ci --omit=dev`), so node runs plain JavaScript in the container, no TypeScript loader.
 *
 *   node --import tsx hack/image/build-dist.ts [outDir]
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export const distEntryPoints = {
  tally: "hack/image/entrypoint.ts",
  operator: "operator/main.ts",
  gateway: "gateway/main.ts",
  worker: "runtime/worker/main.ts",
} as const;

export async function buildDist(repoRoot: string, outDir: string): Promise<string[]> {
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: Object.fromEntries(Object.entries(distEntryPoints)),
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node26",
    sourcemap: "linked",
    logLevel: "warning",
    metafile: true,
  });
  return Object.keys(result.metafile.outputs).filter((f) => f.endsWith(".mjs"));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = resolve(import.meta.dirname, "..", "..");
  const out = resolve(root, process.argv[2] ?? "dist");
  const files = await buildDist(root, out);
  process.stdout.write(`built ${files.length} bundles into ${out}: ${files.join(", ")}\n`);
}
