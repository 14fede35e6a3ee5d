import { describe, expect, it } from "vitest";
import {
  identifierFromObjectName,
  numberLiteral,
  quoteIdentifier,
  quoteString,
  UnsafeSqlValueError,
} from "./sql.js";

describe("quoteIdentifier", () => {
  it.each([
    ["events", "`events`"],
    ["_private", "`_private`"],
    ["Mixed_Case9", "`Mixed_Case9`"],
  ])("quotes %s", (name, quoted) => {
    expect(quoteIdentifier(name, "test")).toBe(quoted);
  });

  it.each([
    ["injection with backquote", "a`; DROP TABLE x; --"],
    ["space", "a b"],
    ["leading digit", "1abc"],
    ["empty", ""],
    ["dot", "db.table"],
    ["quote", "a'b"],
    ["unicode", "événement"],
    ["too long", "a".repeat(64)],
  ])("refuses %s", (_label, name) => {
    expect(() => quoteIdentifier(name, "spec.fields[0].name")).toThrow(UnsafeSqlValueError);
    expect(() => quoteIdentifier(name, "spec.fields[0].name")).toThrow(/spec\.fields\[0\]\.name/);
  });
});

describe("quoteString", () => {
  it.each([
    ["plain", "'plain'"],
    ["it's", "'it\\'s'"],
    ["back\\slash", "'back\\\\slash'"],
    ["line\nbreak", "'line\\x0abreak'"],
    ["'; DROP TABLE x; --", "'\\'; DROP TABLE x; --'"],
    ["", "''"],
  ])("quotes %j", (value, quoted) => {
    expect(quoteString(value)).toBe(quoted);
  });
});

describe("numberLiteral", () => {
  it("renders finite numbers and refuses NaN and infinities", () => {
    expect(numberLiteral(0.95, "q")).toBe("0.95");
    expect(numberLiteral(-3, "q")).toBe("-3");
    expect(() => numberLiteral(Number.NaN, "q")).toThrow(/q: NaN/);
    expect(() => numberLiteral(Number.POSITIVE_INFINITY, "q")).toThrow(UnsafeSqlValueError);
  });
});

describe("identifierFromObjectName", () => {
  it.each([
    ["clicks-per-minute", "clicks_per_minute"],
    ["a.b", "a_b"],
    ["5m-rollup", "_5m_rollup"],
  ])("%s → %s", (name, identifier) => {
    expect(identifierFromObjectName(name)).toBe(identifier);
  });
});
