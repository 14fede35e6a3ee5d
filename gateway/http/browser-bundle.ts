/**
 * Browser code (the web UI, the tracker) is strict TypeScript in the repository, bundled by esbuild once,
 * in memory, when the gateway starts: no build step to forget and no generated file to drift. The
 * bundle's content hash is its ETag, so browsers revalidate cheaply.
 */
import { createHash } from "node:crypto";
import { build } from "esbuild";

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
