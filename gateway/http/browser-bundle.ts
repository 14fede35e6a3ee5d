/**
 * Browser code (the web UI, the tracker) is strict TypeScript in the repository, bundled by esbuild once,
 * in memory, when the gateway starts: no build step to forget and no generated file to drift. The
 * bundle's content hash is its ETag, so browsers revalidate cheaply.
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { build } from "esbuild";

/**
 * Where the browser sources are: the repository root when the gateway runs from source; in the image the
 * programs are bundled into dist/, so the Dockerfile says where it copied them (TALLY_SOURCE_ROOT=/app).
 */
const sourceRoot = process.env.TALLY_SOURCE_ROOT ?? resolve(import.meta.dirname, "..", "..");

/** A file of the browser sources, by its path from the repository root. */
export function browserSourcePath(pathFromRoot: string): string {
  return resolve(sourceRoot, pathFromRoot);
}

export interface BrowserBundle {
  readonly code: string;
  readonly etag: string;
}

/** Bundles one entry point (and what it imports) into a single minified ES2022 script. */
export async function bundleBrowserEntry(entryPoint: string, format: "esm" | "iife"): Promise<BrowserBundle> {
  const result = await build({
    entryPoints: [entryPoint],
    bundle: true,
    write: false,
    minify: true,
    format,
    target: "es2022",
    platform: "browser",
    legalComments: "none",
    logLevel: "silent",
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error(`esbuild produced no output for ${entryPoint}`);
  const code = output.text;
  return { code, etag: `"${createHash("sha256").update(code).digest("base64url").slice(0, 22)}"` };
}
