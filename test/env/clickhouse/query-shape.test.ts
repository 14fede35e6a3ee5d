import { describe, expect, it } from "vitest";
import { analyzeQuery, isReadOnlyKind } from "./query-shape.js";

describe("analyzeQuery", () => {
  it("finds the kind and the trailing FORMAT clause of a SELECT", () => {
    expect(analyzeQuery("SELECT 1 FORMAT JSONEachRow")).toMatchObject({
      kind: "SELECT",
      format: "JSONEachRow",
    });
    expect(analyzeQuery("  select 1\nFORMAT JSON SETTINGS max_threads = 1;")).toMatchObject({
      kind: "SELECT",
      format: "JSON",
      secondStatementAt: undefined,
    });
    expect(analyzeQuery("-- comment\n/* block */ WITH 1 AS x SELECT x")).toMatchObject({
      kind: "WITH",
      format: undefined,
    });
  });

  it("ignores FORMAT inside strings, comments, subqueries and function calls", () => {
    expect(analyzeQuery("SELECT 'FORMAT CSV' -- FORMAT TSV\n").format).toBeUndefined();
    expect(analyzeQuery("SELECT * FROM (SELECT 1 FORMAT CSV)").format).toBeUndefined();
    expect(analyzeQuery("SELECT format('{}', 'x')").format).toBeUndefined();
    expect(analyzeQuery("SELECT format FROM t").format).toBeUndefined();
    expect(analyzeQuery("SELECT 1 AS format FORMAT CSV").format).toBe("CSV");
  });

  it("reports where a second statement starts, but not for a trailing semicolon", () => {
    expect(analyzeQuery("SELECT 1; SELECT 2").secondStatementAt).toBe(10);
    expect(analyzeQuery("SELECT ';'; -- done\n").secondStatementAt).toBeUndefined();
  });

  it("splits an INSERT into its SQL and the inline data after FORMAT", () => {
    const text = 'INSERT INTO t (a, `b c`) SETTINGS async_insert=1 FORMAT JSONEachRow\n{"a":1}\n';
    const shape = analyzeQuery(text);
    expect(shape).toMatchObject({ kind: "INSERT", format: "JSONEachRow" });
    expect(text.slice(0, shape.sqlEnd)).toBe(
      "INSERT INTO t (a, `b c`) SETTINGS async_insert=1 FORMAT JSONEachRow",
    );
    expect(text.slice(shape.dataOffset)).toBe('{"a":1}\n');
  });

  it("skips only blanks and one line break before data, so binary rows keep their leading bytes", () => {
    const text = "INSERT INTO t FORMAT RowBinary \r\n\n\t\u0000";
    const shape = analyzeQuery(text);
    expect(text.slice(shape.dataOffset)).toBe("\n\t\u0000");
    // Data on the same line as the format name, as in `INSERT ... FORMAT CSV 1,2`.
    const sameLine = "INSERT INTO t FORMAT CSV 1,2";
    expect(sameLine.slice(analyzeQuery(sameLine).dataOffset)).toBe("1,2");
  });

  it("does not scan inline data for statements or semicolons", () => {
    const shape = analyzeQuery("INSERT INTO t FORMAT CSV\n1,'a;b'\n2,x; SELECT 1\n");
    expect(shape.secondStatementAt).toBeUndefined();
  });

  it("treats VALUES as the start of inline data, but not a values() table function after SELECT", () => {
    const text = "INSERT INTO t VALUES (1, 'a'), (2, 'b')";
    const shape = analyzeQuery(text);
    expect(shape).toMatchObject({ kind: "INSERT", format: "Values" });
    expect(text.slice(shape.dataOffset)).toBe(" (1, 'a'), (2, 'b')");
    expect(analyzeQuery("INSERT INTO t SELECT * FROM values('a UInt8', 1, 2)")).toMatchObject({
      kind: "INSERT",
      sqlEnd: undefined,
      dataOffset: undefined,
    });
  });

  it("reports an empty kind for a query made only of blanks and comments", () => {
    expect(analyzeQuery(" \n-- nothing\n").kind).toBe("");
    expect(analyzeQuery("").kind).toBe("");
  });

  it("handles a parenthesised query and escaped quotes in strings", () => {
    expect(analyzeQuery("(SELECT 1) UNION ALL (SELECT 2) FORMAT TSV")).toMatchObject({
      kind: "(",
      format: "TSV",
    });
    expect(analyzeQuery("SELECT 'it\\'s; FORMAT X', 'a''b' FORMAT CSV").format).toBe("CSV");
  });
});

describe("isReadOnlyKind", () => {
  it("allows reads and refuses writes", () => {
    for (const kind of ["SELECT", "WITH", "SHOW", "DESCRIBE", "EXISTS", "EXPLAIN", "("]) {
      expect(isReadOnlyKind(kind)).toBe(true);
    }
    for (const kind of ["INSERT", "CREATE", "DROP", "ALTER", "TRUNCATE", "OPTIMIZE"]) {
      expect(isReadOnlyKind(kind)).toBe(false);
    }
  });
});
