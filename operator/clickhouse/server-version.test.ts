import { describe, expect, it } from "vitest";
import { checkServerVersion } from "./server-version.js";

describe("checkServerVersion", () => {
  it.each([
    ["26.7.2.1", true],
    ["24.3.1.2672", true],
    ["24.2.9", false],
    ["23.8.16.40", false],
    ["18.16.1", false],
    ["100.1", true],
  ])("%s supported=%s", (version, supported) => {
    expect(checkServerVersion(version).supported).toBe(supported);
  });

  it("explains a refusal with the version found and the one needed", () => {
    expect(checkServerVersion("18.16.1")).toEqual({
      supported: false,
      version: "18.16.1",
      message: "ClickHouse 18.16.1 is not supported; Tally needs 24.3 or newer",
    });
    expect(checkServerVersion("garbage").supported).toBe(false);
  });
});
