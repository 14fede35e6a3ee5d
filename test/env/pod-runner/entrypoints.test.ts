import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  commandLine,
  defaultEntrypoints,
  entrypointFor,
  entrypointsEnvVar,
  loadEntrypoints,
  parseEntrypoints,
} from "./entrypoints.js";

const dir = mkdtempSync(join(tmpdir(), "tally-entrypoints-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("parseEntrypoints", () => {
  it("accepts an object of non-empty argv arrays", () => {
    expect(parseEntrypoints('{"gateway":["node","x.mjs"]}', "test")).toEqual({ gateway: ["node", "x.mjs"] });
  });
  it("says where a bad table came from and what is wrong", () => {
    expect(() => parseEntrypoints("{", "ENV")).toThrow(/^ENV: not JSON/);
    expect(() => parseEntrypoints("[]", "ENV")).toThrow(/expected an object/);
    expect(() => parseEntrypoints('{"gateway":[]}', "ENV")).toThrow(/"gateway" must be a non-empty array/);
    expect(() => parseEntrypoints('{"gateway":"node x"}', "ENV")).toThrow(/"gateway"/);
  });
});

describe("loadEntrypoints", () => {
  it("layers the defaults, the env variable and the file, per component", () => {
    const file = join(dir, "entrypoints.json");
    writeFileSync(file, JSON.stringify({ "pipeline-worker": ["node", "sleeper.mjs"] }));
    const table = loadEntrypoints(
      { [entrypointsEnvVar]: JSON.stringify({ gateway: ["node", "gw.mjs"], "pipeline-worker": ["env"] }) },
      file,
    );
    expect(table).toEqual({
      operator: defaultEntrypoints.operator,
      gateway: ["node", "gw.mjs"],
      "pipeline-worker": ["node", "sleeper.mjs"],
    });
  });
  it("uses the defaults when there is no override", () => {
    expect(loadEntrypoints({}, join(dir, "absent.json"))).toEqual(defaultEntrypoints);
  });
});

describe("entrypointFor", () => {
  it("prefers the namespace's own entry for a component", () => {
    const table = { gateway: ["node", "gw.mjs"], "test-1/gateway": ["node", "fake.mjs"] };
    expect(entrypointFor(table, "test-1", "gateway")).toEqual(["node", "fake.mjs"]);
    expect(entrypointFor(table, "prod", "gateway")).toEqual(["node", "gw.mjs"]);
    expect(entrypointFor(table, "prod", "operator")).toBeUndefined();
  });
});

describe("commandLine", () => {
  it("runs node as the current Node.js and appends the container args", () => {
    expect(commandLine(["node", "--import", "tsx", "a.ts"], ["--x", "1"], "/opt/node", "/repo")).toEqual({
      file: "/opt/node",
      args: ["--import", "tsx", "a.ts", "--x", "1"],
    });
  });
  it("resolves a relative program path against the repository, leaves bare names to PATH", () => {
    expect(commandLine(["bin/run.sh"], [], "/opt/node", "/repo").file).toBe("/repo/bin/run.sh");
    expect(commandLine(["sleep", "100"], [], "/opt/node", "/repo")).toEqual({ file: "sleep", args: ["100"] });
  });
});
