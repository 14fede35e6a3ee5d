/**
 * The chdb-backed ClickHouse HTTP server (test/env/clickhouse/), started in-process on a free port
 * with a temporary data directory and driven only through @clickhouse/client, the client the
 * product uses.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { type ClickHouseClient, ClickHouseError, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClickhouseHttpServer, startClickhouseHttpServer } from "../env/clickhouse/http-server.js";

const user = "tally-it";
// Quotes and a colon: the password survives Basic auth encoding unchanged.
const password = "p'a\"ss:word";

// The client logs every failed request; the failures here are expected ones.
const quiet = { level: ClickHouseLogLevel.OFF };

let dataDir: string;
let server: ClickhouseHttpServer;
let client: ClickHouseClient;
const extraClients: ClickHouseClient[] = [];

async function startServer(): Promise<void> {
  server = await startClickhouseHttpServer({ host: "127.0.0.1", port: 0, dataDir, user, password });
  client = createClient({ url: server.url, username: user, password, database: "tally_it", log: quiet });
}

function otherClient(options: Parameters<typeof createClient>[0]): ClickHouseClient {
  const created = createClient({ url: server.url, log: quiet, ...options });
  extraClients.push(created);
  return created;
}

async function rows<T>(
  query: string,
  options: { settings?: Record<string, string | number> } = {},
): Promise<T[]> {
  const result = await client.query({ query, format: "JSONEachRow", clickhouse_settings: options.settings });
  return result.json<T>();
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "tally-clickhouse-it-"));
  await startServer();
  // The client's `database` only applies to requests, so create it through a client without one.
  await otherClient({ username: user, password }).command({
    query: "CREATE DATABASE IF NOT EXISTS tally_it",
  });
});

afterAll(async () => {
  await Promise.all([client?.close(), ...extraClients.map((c) => c.close())]);
  await server?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("ClickHouse HTTP interface over chdb, through @clickhouse/client", () => {
  it("answers ping, both the /ping endpoint and the SELECT form", async () => {
    expect(await client.ping()).toEqual({ success: true });
    expect(await client.ping({ select: true })).toEqual({ success: true });
  });

  it("creates a table, inserts JSONEachRow and reads it back with the written rows in the summary", async () => {
    await client.command({
      query: `CREATE TABLE events (id UInt64, name String, at DateTime64(3, 'UTC'))
              ENGINE = MergeTree ORDER BY id`,
    });
    const inserted = await client.insert({
      table: "events",
      format: "JSONEachRow",
      values: [
        { id: 1, name: "a", at: "2024-01-02 03:04:05.123" },
        { id: 2, name: 'it\'s "quoted"', at: "2024-01-02 03:04:06.000" },
        { id: 3, name: "tab\there", at: "2024-01-02 03:04:07.000" },
      ],
      query_id: "insert-events-1",
    });
    expect(inserted.query_id).toBe("insert-events-1");
    expect(inserted.response_headers["x-clickhouse-query-id"]).toBe("insert-events-1");
    expect(inserted.summary).toMatchObject({ written_rows: "3", result_rows: "3" });

    expect(await rows("SELECT id, name, at FROM events ORDER BY id")).toEqual([
      { id: 1, name: "a", at: "2024-01-02 03:04:05.123" },
      { id: 2, name: 'it\'s "quoted"', at: "2024-01-02 03:04:06.000" },
      { id: 3, name: "tab\there", at: "2024-01-02 03:04:07.000" },
    ]);
  });

  it("returns TabSeparated when the query has no FORMAT clause, with the format headers", async () => {
    const result = await client.exec({ query: "SELECT number, toString(number) FROM numbers(2)" });
    const chunks: Buffer[] = [];
    for await (const chunk of result.stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe("0\t0\n1\t1\n");
    expect(result.response_headers["x-clickhouse-format"]).toBe("TabSeparated");
    expect(result.response_headers["content-type"]).toBe("text/tab-separated-values; charset=UTF-8");
    expect(result.response_headers["x-clickhouse-timezone"]).toBeTruthy();
    expect(result.response_headers["x-clickhouse-server-display-name"]).toBeTruthy();
    expect(JSON.parse(String(result.response_headers["x-clickhouse-summary"]))).toMatchObject({
      read_rows: "2",
      result_rows: "2",
    });
  });

  it("echoes the query id the client sends", async () => {
    const result = await client.query({
      query: "SELECT 1 AS one",
      format: "JSONEachRow",
      query_id: "my-query-42",
    });
    expect(result.query_id).toBe("my-query-42");
    expect(result.response_headers["x-clickhouse-query-id"]).toBe("my-query-42");
    expect(await result.json()).toEqual([{ one: 1 }]);
  });

  it("binds typed query parameters verbatim: strings with quotes, UInt64, Array(String), DateTime64", async () => {
    const query =
      "SELECT {s:String} AS s, {n:UInt64} AS n, {a:Array(String)} AS a, {d:DateTime64(3, 'UTC')} AS d, {m:Map(String, UInt8)} AS m";
    const params = {
      s: 'it\'s a "quote", a \\ backslash,\ta tab and\na newline',
      n: "18446744073709551615",
      a: ["x'y", 'z"w', "back\\slash"],
      d: new Date("2024-05-06T07:08:09.123Z"),
      m: { "k'1": 1 },
    };
    const expected = {
      s: params.s,
      n: params.n,
      a: params.a,
      d: "2024-05-06 07:08:09.123",
      m: { "k'1": 1 },
    };
    // 26.x writes 64-bit integers as JSON numbers by default; quote them so the UInt64 survives JSON.parse.
    const clickhouse_settings = { output_format_json_quote_64bit_integers: 1 } as const;
    const viaUrl = await client.query({
      query,
      format: "JSONEachRow",
      query_params: params,
      clickhouse_settings,
    });
    expect(await viaUrl.json()).toEqual([expected]);
    // Long parameters travel in a multipart/form-data body instead of the URL.
    const viaForm = await client.query({
      query,
      format: "JSONEachRow",
      query_params: params,
      clickhouse_settings,
      use_multipart_params: true,
    });
    expect(await viaForm.json()).toEqual([expected]);
    // Parameters do not stay bound for the next query.
    await expect(client.query({ query: "SELECT {s:String}", format: "JSONEachRow" })).rejects.toMatchObject({
      code: "456",
      type: "UNKNOWN_QUERY_PARAMETER",
    });
  });

  it("surfaces errors as ClickHouseError with the server's code and type", async () => {
    const missing = client.query({ query: "SELECT * FROM no_such_table", format: "JSONEachRow" });
    await expect(missing).rejects.toBeInstanceOf(ClickHouseError);
    await expect(missing).rejects.toMatchObject({ code: "60", type: "UNKNOWN_TABLE" });
    await expect(client.command({ query: "SELEC 1" })).rejects.toMatchObject({
      code: "62",
      type: "SYNTAX_ERROR",
    });
    await expect(client.command({ query: "SELECT 1; SELECT 2" })).rejects.toMatchObject({
      code: "62",
      type: "SYNTAX_ERROR",
    });
    await expect(
      otherClient({ username: user, password, database: "no_such_db" }).query({ query: "SELECT 1" }),
    ).rejects.toMatchObject({ code: "81", type: "UNKNOWN_DATABASE" });
  });

  it("sends each error with the HTTP status the real server uses", async () => {
    const status = async (query: string, target = client, clickhouse_settings = {}) => {
      const result = await target.exec({ query, ignore_error_response: true, clickhouse_settings });
      result.stream.destroy();
      return [result.http_status_code, result.response_headers["x-clickhouse-exception-code"]];
    };
    expect(await status("SELECT * FROM no_such_table")).toEqual([404, "60"]);
    expect(await status("SELEC 1")).toEqual([400, "62"]);
    // max_execution_time reaches the engine, whose TIMEOUT_EXCEEDED the server answers with 408.
    expect(
      await status("SELECT count() FROM numbers_mt(1000000000000)", client, { max_execution_time: 0.5 }),
    ).toEqual([408, "159"]);
    expect(await status("SELECT 1", otherClient({ username: user, password: "wrong" }))).toEqual([
      403,
      "516",
    ]);
  });

  it("refuses a wrong password or unknown user with 516 AUTHENTICATION_FAILED", async () => {
    for (const credentials of [
      { username: user, password: "wrong" },
      { username: "nobody", password },
    ]) {
      const wrong = otherClient(credentials);
      await expect(wrong.query({ query: "SELECT 1" })).rejects.toMatchObject({
        code: "516",
        type: "AUTHENTICATION_FAILED",
      });
      await expect(
        wrong.insert({ table: "events", values: [{ id: 9 }], format: "JSONEachRow" }),
      ).rejects.toMatchObject({ code: "516" });
    }
  });

  it("applies URL settings to their own query only", async () => {
    const defaults = await rows<{ r: number; t: number }>(
      "SELECT getSetting('max_result_rows') AS r, getSetting('max_execution_time') AS t",
    );
    const applied = await rows<{ r: number; t: number }>(
      "SELECT getSetting('max_result_rows') AS r, getSetting('max_execution_time') AS t",
      { settings: { max_result_rows: "100", max_execution_time: 7 } },
    );
    expect(applied).toEqual([{ r: 100, t: 7 }]);
    await expect(
      rows("SELECT number FROM numbers(10)", {
        settings: { max_result_rows: "1", result_overflow_mode: "throw" },
      }),
    ).rejects.toMatchObject({ code: "396", type: "TOO_MANY_ROWS_OR_BYTES" });
    expect(await rows("SELECT number FROM numbers(10)")).toHaveLength(10);
    expect(
      await rows("SELECT getSetting('max_result_rows') AS r, getSetting('max_execution_time') AS t"),
    ).toEqual(defaults);
    // A failed SET of several settings is undone too, including the ones applied before the bad one.
    await expect(
      rows("SELECT 1", { settings: { max_threads: 3, no_such_setting: 1 } }),
    ).rejects.toMatchObject({
      code: "115",
      type: "UNKNOWN_SETTING",
    });
    expect(await rows("SELECT getSetting('max_threads') = 3 AS leaked")).toEqual([{ leaked: 0 }]);
    // A SET statement without a session changes nothing, as on the real server.
    await client.command({ query: "SET max_result_rows = 5" });
    expect(await rows("SELECT getSetting('max_result_rows') AS r")).toEqual([{ r: defaults[0]?.r }]);
    // The `database` parameter is per request too: a client without one is back in `default`.
    expect(await rows("SELECT currentDatabase() AS d")).toEqual([{ d: "tally_it" }]);
    const noDatabase = otherClient({ username: user, password });
    const current = await noDatabase.query({ query: "SELECT currentDatabase() AS d", format: "JSONEachRow" });
    expect(await current.json()).toEqual([{ d: "default" }]);
  });

  it("applies insert settings such as date_time_input_format to that insert only", async () => {
    // 26.x parses DateTime input best-effort by default; 'basic' refuses an RFC 1123 date.
    const rfc1123 = [{ id: 10, name: "rfc1123", at: "Mon, 04 Mar 2024 05:06:07 GMT" }];
    const basic = { date_time_input_format: "basic" } as const;
    const insert = (settings = {}) =>
      client.insert({
        table: "events",
        format: "JSONEachRow",
        values: rfc1123,
        clickhouse_settings: settings,
      });
    await expect(insert(basic)).rejects.toMatchObject({
      code: "27",
      type: "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
    });
    await insert();
    expect(await rows("SELECT at FROM events WHERE id = 10")).toEqual([{ at: "2024-03-04 05:06:07.000" }]);
    await expect(insert(basic)).rejects.toBeInstanceOf(ClickHouseError);
  });

  it("deduplicates a repeated insert token through a materialized view into an AggregatingMergeTree", async () => {
    // Both tables need the window: in this engine version a block deduplicated in the source still
    // reaches the view unless the view's target table deduplicates it too.
    await client.command({
      query: `CREATE TABLE clicks (page String, user_id UInt64, ms UInt32)
              ENGINE = MergeTree ORDER BY page SETTINGS non_replicated_deduplication_window = 100`,
    });
    await client.command({
      query: `CREATE TABLE clicks_agg (
                page String,
                total_ms AggregateFunction(sum, UInt32),
                clicks AggregateFunction(count),
                users AggregateFunction(uniq, UInt64))
              ENGINE = AggregatingMergeTree ORDER BY page SETTINGS non_replicated_deduplication_window = 100`,
    });
    await client.command({
      query: `CREATE MATERIALIZED VIEW clicks_mv TO clicks_agg AS
              SELECT page, sumState(ms) AS total_ms, countState() AS clicks, uniqState(user_id) AS users
              FROM clicks GROUP BY page`,
    });
    const batch = [
      { page: "/a", user_id: 1, ms: 10 },
      { page: "/a", user_id: 2, ms: 20 },
      { page: "/b", user_id: 1, ms: 5 },
    ];
    const insertWithToken = (token: string) =>
      client.insert({
        table: "clicks",
        format: "JSONEachRow",
        values: batch,
        clickhouse_settings: {
          insert_deduplication_token: token,
          deduplicate_blocks_in_dependent_materialized_views: 1,
        },
      });
    const aggregates = () =>
      rows(`SELECT page, sumMerge(total_ms) AS total_ms, countMerge(clicks) AS clicks, uniqMerge(users) AS users
            FROM clicks_agg GROUP BY page ORDER BY page`);

    await insertWithToken("batch-1");
    const once = [
      { page: "/a", total_ms: 30, clicks: 2, users: 2 },
      { page: "/b", total_ms: 5, clicks: 1, users: 1 },
    ];
    expect(await aggregates()).toEqual(once);

    await insertWithToken("batch-1");
    expect(await aggregates()).toEqual(once);
    expect(await rows("SELECT count() AS c FROM clicks")).toEqual([{ c: 3 }]);

    await insertWithToken("batch-2");
    expect(await aggregates()).toEqual([
      { page: "/a", total_ms: 60, clicks: 4, users: 2 },
      { page: "/b", total_ms: 10, clicks: 2, users: 1 },
    ]);
  });

  it("inserts binary RowBinary data and compressed bodies, and compresses responses on request", async () => {
    await client.command({ query: "CREATE TABLE bin (n UInt32, s String) ENGINE = MergeTree ORDER BY n" });
    // Leading bytes 0x20 and 0x0a would be eaten if the data were treated as text after FORMAT.
    const row = (n: number, s: string) =>
      Buffer.concat([
        Buffer.from(new Uint32Array([n]).buffer),
        Buffer.from([s.length]),
        Buffer.from(s, "latin1"),
      ]);
    const written = await client.exec({
      query: "INSERT INTO bin FORMAT RowBinary",
      values: Readable.from([Buffer.concat([row(0x20, "a\u0000b"), row(0x0a, "\n")])]),
    });
    written.stream.destroy();
    expect(written.summary).toMatchObject({ written_rows: "2" });
    expect(await rows("SELECT n, s FROM bin ORDER BY n")).toEqual([
      { n: 10, s: "\n" },
      { n: 32, s: "a\u0000b" },
    ]);

    const compressed = otherClient({
      username: user,
      password,
      database: "tally_it",
      compression: { request: true, response: true },
    });
    await compressed.insert({ table: "bin", format: "JSONEachRow", values: [{ n: 100, s: "gzip" }] });
    const result = await compressed.query({
      query: "SELECT s FROM bin WHERE n = 100",
      format: "JSONEachRow",
    });
    expect(result.response_headers["content-encoding"]).toBe("gzip");
    expect(await result.json()).toEqual([{ s: "gzip" }]);
  });

  it("keeps per-request settings apart under 50 concurrent queries and inserts", async () => {
    await client.command({ query: "CREATE TABLE burst (i UInt32) ENGINE = MergeTree ORDER BY i" });
    const [{ v: defaultBlockSize } = { v: 0 }] = await rows<{ v: number }>(
      "SELECT getSetting('max_block_size') AS v",
    );
    const work = Array.from({ length: 50 }, async (_, i) => {
      if (i % 3 === 0) {
        const result = await client.insert({
          table: "burst",
          format: "JSONEachRow",
          values: [{ i }, { i: i + 1000 }],
          clickhouse_settings: {
            insert_deduplication_token: `burst-${i}`,
            max_insert_threads: String((i % 4) + 1),
          },
        });
        expect(result.summary?.written_rows).toBe("2");
        return;
      }
      // Odd ones set max_block_size for their own query; the rest must still see the default.
      const blockSize = i % 3 === 1 ? 1000 + i : undefined;
      const result = await client.query({
        query: "SELECT getSetting('max_block_size') AS v, {i:UInt32} AS i",
        format: "JSONEachRow",
        query_params: { i },
        clickhouse_settings: blockSize === undefined ? {} : { max_block_size: String(blockSize) },
      });
      expect(await result.json()).toEqual([{ v: blockSize ?? defaultBlockSize, i }]);
    });
    await Promise.all(work);
    expect(await rows("SELECT count() AS c FROM burst")).toEqual([{ c: 17 * 2 }]);
  });

  it("keeps tables and rows across a restart on the same data directory", async () => {
    const before = await rows<{ c: string }>("SELECT count() AS c FROM events");
    await client.close();
    await server.close();
    await startServer();
    expect(await client.ping()).toEqual({ success: true });
    expect(await rows("SELECT count() AS c FROM events")).toEqual(before);
    expect(await rows("SELECT name FROM events WHERE id = 2")).toEqual([{ name: 'it\'s "quoted"' }]);
    expect(
      await rows("SELECT page, sumMerge(total_ms) AS t FROM clicks_agg GROUP BY page ORDER BY page"),
    ).toEqual([
      { page: "/a", t: 60 },
      { page: "/b", t: 10 },
    ]);
  });
});
