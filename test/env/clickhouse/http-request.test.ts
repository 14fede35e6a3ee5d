import { describe, expect, it } from "vitest";
import { ClickHouseServerError } from "./errors.js";
import {
  composeQueryText,
  extractCredentials,
  parseMultipartFields,
  parseRequestParams,
} from "./http-request.js";

const fieldsOf = (search: string): Array<[string, string]> => [...new URLSearchParams(search)];

describe("parseRequestParams", () => {
  it("sorts reserved parameters, query parameters and settings", () => {
    const params = parseRequestParams(
      fieldsOf(
        "query=SELECT+1&database=db&default_format=JSON&query_id=q1&user=u&password=p&session_id=s" +
          "&wait_end_of_query=1&param_s=it%5C%27s&param_a=%5B%27x%27%5D&max_execution_time=5" +
          "&insert_deduplication_token=tok&enable_http_compression=1&readonly=2&role=r",
      ),
      {},
      false,
    );
    expect(params).toMatchObject({ query: "SELECT 1", database: "db", defaultFormat: "JSON", queryId: "q1" });
    expect(params.queryParams).toEqual({ s: "it\\'s", a: "['x']" });
    expect(Object.fromEntries(params.settings)).toEqual({
      max_execution_time: "5",
      insert_deduplication_token: "tok",
    });
    expect(Object.fromEntries(params.httpSettings)).toEqual({ enable_http_compression: "1", readonly: "2" });
  });

  it("lets later duplicate settings win and the first duplicate parameter win, as the server does", () => {
    const params = parseRequestParams(fieldsOf("max_threads=1&max_threads=2&param_x=1&param_x=2"), {}, false);
    expect(params.settings.get("max_threads")).toBe("2");
    expect(params.queryParams.x).toBe("1");
  });

  it("prefers the X-ClickHouse-Database/-Format headers and falls back to X-ClickHouse-Query-Id", () => {
    const params = parseRequestParams(
      fieldsOf("database=fromParam&default_format=CSV"),
      { "x-clickhouse-database": "fromHeader", "x-clickhouse-format": "JSON", "x-clickhouse-query-id": "hq" },
      false,
    );
    expect(params).toMatchObject({ database: "fromHeader", defaultFormat: "JSON", queryId: "hq" });
  });

  it("refuses a setting name that is not an identifier, with UNKNOWN_SETTING", () => {
    expect(() => parseRequestParams(fieldsOf("max_threads%3D1%3BDROP=1"), {}, false)).toThrowError(
      expect.objectContaining({ code: 115, errorName: "UNKNOWN_SETTING" }),
    );
  });

  it("skips external-table descriptors of multipart requests and joins query fields", () => {
    const params = parseRequestParams(
      [
        ["query", "SELECT "],
        ["query", "1"],
        ["ext_structure", "a UInt8"],
        ["date_time_input_format", "best_effort"],
      ],
      {},
      true,
    );
    expect(params.query).toBe("SELECT 1");
    expect(Object.fromEntries(params.settings)).toEqual({});
  });
});

describe("composeQueryText", () => {
  it("joins the query parameter and the body with a line break", () => {
    expect(composeQueryText("INSERT INTO t FORMAT CSV", Buffer.from("1\n"), false).toString()).toBe(
      "INSERT INTO t FORMAT CSV\n1\n",
    );
    expect(composeQueryText(undefined, Buffer.from("SELECT 1"), false).toString()).toBe("SELECT 1");
    expect(composeQueryText("SELECT 1", Buffer.from("ignored form body"), true).toString()).toBe("SELECT 1");
  });
});

describe("extractCredentials", () => {
  const basic = (value: string) => `Basic ${Buffer.from(value).toString("base64")}`;

  it("reads Basic auth, X-ClickHouse headers or URL parameters", () => {
    expect(extractCredentials({ authorization: basic("u:p:with:colons") }, new URLSearchParams())).toEqual({
      user: "u",
      password: "p:with:colons",
    });
    expect(
      extractCredentials({ "x-clickhouse-user": "u", "x-clickhouse-key": "k" }, new URLSearchParams()),
    ).toEqual({ user: "u", password: "k" });
    expect(extractCredentials({}, new URLSearchParams("user=u&password=p"))).toEqual({
      user: "u",
      password: "p",
    });
    expect(extractCredentials({}, new URLSearchParams())).toEqual({ user: "default", password: "" });
  });

  it("refuses mixed methods and unsupported schemes with AUTHENTICATION_FAILED", () => {
    const failures = [
      () =>
        extractCredentials({ "x-clickhouse-user": "u", authorization: basic("u:p") }, new URLSearchParams()),
      () => extractCredentials({ authorization: basic("u:p") }, new URLSearchParams("user=u")),
      () => extractCredentials({ authorization: "Bearer token" }, new URLSearchParams()),
    ];
    for (const failure of failures) {
      expect(failure).toThrowError(ClickHouseServerError);
      expect(failure).toThrowError(expect.objectContaining({ code: 516 }));
    }
  });
});

describe("parseMultipartFields", () => {
  it("reads the form the client builds for long query parameters", () => {
    const body =
      '--B\r\nContent-Disposition: form-data; name="query"\r\n\r\nSELECT {v:Array(String)}\r\n' +
      "--B\r\nContent-Disposition: form-data; name=\"param_v\"\r\n\r\n['a\r\nb','c']\r\n--B--\r\n";
    expect(parseMultipartFields(Buffer.from(body), "multipart/form-data; boundary=B")).toEqual([
      ["query", "SELECT {v:Array(String)}"],
      ["param_v", "['a\r\nb','c']"],
    ]);
  });

  it("refuses file parts (external data) with NOT_IMPLEMENTED", () => {
    const body = '--B\r\nContent-Disposition: form-data; name="t"; filename="t.tsv"\r\n\r\n1\r\n--B--\r\n';
    expect(() => parseMultipartFields(Buffer.from(body), "multipart/form-data; boundary=B")).toThrowError(
      expect.objectContaining({ code: 48 }),
    );
  });
});
