import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDist } from "./build-dist.js";

// The image cannot be built here (no container engine). What can be checked is checked: the files it
// copies exist, its entry point and the programs it dispatches to are in the build output and start, and
// it runs as a fixed non-root user.

const root = resolve(import.meta.dirname, "..", "..");
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"));
const stages = instructions.reduce<string[][]>((acc, line) => {
  if (line.startsWith("FROM ")) acc.push([]);
  acc.at(-1)?.push(line);
  return acc;
}, []);
const finalStage = stages.at(-1) ?? [];
const ignored = readFileSync(join(root, ".dockerignore"), "utf8").split("\n").filter(Boolean);

const outDir = join(root, "dist", `image-test-${process.pid}`);
let bundles: string[] = [];
beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  bundles = (await buildDist(root, outDir)).map((f) => f.split("/").at(-1) ?? f);
}, 60_000);
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("Dockerfile", () => {
  it("uses the Node of .node-version in every stage", () => {
    const version = readFileSync(join(root, ".node-version"), "utf8").trim();
    const froms = stages.map((s) => s[0] ?? "");
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms)
      expect(from).toMatch(new RegExp(`^FROM node:${version.replace(/\./g, "\\.")}-`));
  });

  it("copies only files that exist in the repository and are not excluded by .dockerignore", () => {
    const sources = instructions
      .filter((line) => line.startsWith("COPY ") && !line.includes("--from="))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      expect(existsSync(join(root, source)), `COPY ${source}`).toBe(true);
      expect(ignored, `COPY ${source} is in .dockerignore`).not.toContain(source);
    }
  });

  it("copies the browser sources the gateway bundles at start to where TALLY_SOURCE_ROOT says", () => {
    expect(finalStage).toContain("ENV NODE_ENV=production TALLY_SOURCE_ROOT=/app");
    // Every browser entry the gateway bundles lives in a web/ folder the image copies to the same place.
    const webDirs = finalStage
      .filter((line) => line.startsWith("COPY --from=build /src/gateway/"))
      .map((line) => line.split(/\s+/)[2]?.replace("/src/", ""));
    for (const entry of ["gateway/ui/web/main.ts", "gateway/tracker/web/tracker.ts"]) {
      expect(existsSync(join(root, entry)), entry).toBe(true);
      expect(
        webDirs.some((dir) => dir !== undefined && entry.startsWith(`${dir}/`)),
        entry,
      ).toBe(true);
    }
  });

  it("runs as a fixed non-root user in the final stage", () => {
    const user = finalStage.filter((line) => line.startsWith("USER ")).at(-1);
    const match = /^USER (\d+):(\d+)$/.exec(user ?? "");
    expect(match, `final stage USER: ${user}`).not.toBeNull();
    expect(Number(match?.[1])).toBeGreaterThan(0);
    // The chart's pods run as the same user (restricted pod security wants runAsNonRoot with a numeric id).
    const chart = readdirSync(join(root, "charts/tally/templates"))
      .filter((f) => f.endsWith("deployment.yaml"))
      .map((f) => readFileSync(join(root, "charts/tally/templates", f), "utf8"));
    for (const template of chart) expect(template).toContain(`runAsUser: ${match?.[1]}`);
  });

  it("names an entry point that the build output holds, and it dispatches every command the chart and the renderer use", () => {
    const entry = finalStage.find((line) => line.startsWith("ENTRYPOINT "));
    expect(entry).toBe('ENTRYPOINT ["node", "/app/dist/tally.mjs"]');
    expect(bundles.sort()).toEqual(["gateway.mjs", "operator.mjs", "tally.mjs", "worker.mjs"]);
    const chartArgs = readdirSync(join(root, "charts/tally/templates"))
      .flatMap((f) => [
        ...readFileSync(join(root, "charts/tally/templates", f), "utf8").matchAll(/args: \["([^"]+)"/g),
      ])
      .map((m) => m[1]);
    const rendererArgs = [
      ...readFileSync(join(root, "operator/pipeline/render-pipeline-objects.ts"), "utf8").matchAll(
        /args: \["([^"]+)"/g,
      ),
    ].map((m) => m[1]);
    const commands = [...new Set([...chartArgs, ...rendererArgs])].sort();
    expect(commands).toEqual(["gateway", "operator", "pipeline-worker"]);
    for (const command of commands) {
      // With no settings each program starts and refuses with its own configuration error: the bundle
      // loaded and resolved its packages (a missing module would fail before any of that).
      const run = spawnSync(process.execPath, [join(outDir, "tally.mjs"), command ?? ""], {
        env: { PATH: process.env.PATH ?? "", HOME: outDir },
        encoding: "utf8",
        timeout: 20_000,
      });
      const output = run.stdout + run.stderr;
      expect(output, command).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
      expect(output, command).toMatch(/TALLY_[A-Z_]+ is not set|skipTLSVerify|kubeconfig/i);
      expect(run.status, command).not.toBe(0);
    }
    const unknown = spawnSync(process.execPath, [join(outDir, "tally.mjs"), "bogus"], { encoding: "utf8" });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("expected one of: operator, gateway, pipeline-worker");
  }, 60_000);
});
