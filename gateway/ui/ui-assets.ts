/**
 * The web UI's files, made once when the gateway starts: the page, the browser code bundled by esbuild
 * from gateway/ui/web/main.ts, and one stylesheet (uPlot's and ours). Each has a content-hash ETag.
 * They hold no data, so they are served without a token; every data call of the page carries one.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { browserSourcePath, bundleBrowserEntry } from "../http/browser-bundle.js";

export interface UiAsset {
  readonly body: string;
  readonly contentType: string;
  readonly etag: string;
}

/** By file name under /ui/ ("" is the page itself). */
export type UiAssets = ReadonlyMap<string, UiAsset>;

const webDir = browserSourcePath("gateway/ui/web");

function asset(body: string, contentType: string): UiAsset {
  return {
    body,
    contentType,
    etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
  };
}

export async function loadUiAssets(): Promise<UiAssets> {
  const uplotCss = createRequire(import.meta.url).resolve("uplot/dist/uPlot.min.css");
  const [page, script, chartCss, ownCss] = await Promise.all([
    readFile(join(webDir, "index.html"), "utf8"),
    bundleBrowserEntry(join(webDir, "main.ts"), "esm"),
    readFile(uplotCss, "utf8"),
    readFile(join(webDir, "style.css"), "utf8"),
  ]);
  return new Map([
    ["", asset(page, "text/html; charset=utf-8")],
    ["app.js", { body: script.code, contentType: "text/javascript; charset=utf-8", etag: script.etag }],
    ["app.css", asset(`${chartCss}\n${ownCss}`, "text/css; charset=utf-8")],
  ]);
}
