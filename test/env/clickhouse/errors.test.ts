import { ClickHouseError, parseError } from "@clickhouse/client";
import { describe, expect, it } from "vitest";
import { ClickHouseServerError, fromEngineError, httpStatusForErrorCode } from "./errors.js";

describe("httpStatusForErrorCode", () => {
  it.each([
    ["AUTHENTICATION_FAILED", 516, 403],
    ["UNKNOWN_USER", 192, 403],
    ["REQUIRED_PASSWORD", 194, 401],
    ["SYNTAX_ERROR", 62, 400],
    ["CANNOT_PARSE_INPUT_ASSERTION_FAILED", 27, 400],
    ["TYPE_MISMATCH", 53, 400],
    ["UNKNOWN_TABLE", 60, 404],
    ["UNKNOWN_DATABASE", 81, 404],
    ["UNKNOWN_SETTING", 115, 404],
    ["TIMEOUT_EXCEEDED", 159, 408],
    ["NOT_IMPLEMENTED", 48, 501],
    ["QUERY_IS_TOO_LARGE", 229, 413],
    ["READONLY", 164, 500],
    ["UNKNOWN_EXCEPTION", 1002, 500],
  ] as const)("maps %s (%i) to %i as the server does", (_name, code, status) => {
    expect(httpStatusForErrorCode(code)).toBe(status);
  });

  it("answers 500 for codes the server does not map", () => {
    expect(httpStatusForErrorCode(396)).toBe(500);
  });
});

describe("ClickHouseServerError.toText", () => {
  it("writes the server's text, which @clickhouse/client parses into code and type", () => {
    const text = new ClickHouseServerError(60, "UNKNOWN_TABLE", "Table default.nope does not exist").toText(
      "26.7.2.1",
    );
    expect(text).toBe(
      "Code: 60. DB::Exception: Table default.nope does not exist. (UNKNOWN_TABLE) (version 26.7.2.1)",
    );
    const parsed = parseError(text);
    expect(parsed).toBeInstanceOf(ClickHouseError);
    expect(parsed).toMatchObject({
      code: "60",
      type: "UNKNOWN_TABLE",
      message: "Table default.nope does not exist. ",
    });
  });

  it("does not double the period of a message that already ends with one", () => {
    expect(new ClickHouseServerError(62, "SYNTAX_ERROR", "Empty query.").toText("1")).toBe(
      "Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR) (version 1)",
    );
  });
});

describe("fromEngineError", () => {
  it("keeps the engine's code, name and message, dropping a 'Query failed:' prefix", () => {
    const error = fromEngineError(
      new Error("Query failed: Code: 115. DB::Exception: Unknown setting 'nope'. (UNKNOWN_SETTING)\n"),
      "ctx",
    );
    expect(error).toMatchObject({
      code: 115,
      errorName: "UNKNOWN_SETTING",
      message: "Unknown setting 'nope'.",
    });
  });

  it("keeps multi-line engine messages whole", () => {
    const error = fromEngineError(
      new Error(
        "Code: 27. DB::Exception: Cannot parse input: expected '\"' before: 'bad\"}\\n': (at row 2)\n: While executing ParallelParsingBlockInputFormat. (CANNOT_PARSE_INPUT_ASSERTION_FAILED)",
      ),
      "ctx",
    );
    expect(error.code).toBe(27);
    expect(error.message).toContain("(at row 2)\n: While executing");
  });

  it("turns an error without a ClickHouse code into UNKNOWN_EXCEPTION with context", () => {
    const cause = new TypeError("boom");
    const error = fromEngineError(cause, "running the query");
    expect(error).toMatchObject({
      code: 1002,
      errorName: "UNKNOWN_EXCEPTION",
      message: "running the query: boom",
    });
    expect(error.cause).toBe(cause);
  });
});
