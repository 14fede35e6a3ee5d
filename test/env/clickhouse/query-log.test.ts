/**
 * The stand-in's query log: the pure row builder, and the server counting tagged queries, started
 * in-process on a free port with its own data directory (this file's process opens no other).
 */

import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClickhouseHttpServer, startClickhouseHttpServer } from "./http-server.js";
import { queryLogRow, standinQueryLogTable } from "./query-log.js";

describe("queryLogRow", () => {
  const now = new Date(Date.UTC(2001, 1, 3, 4, 5, 6, 789));

  it("records nothing for a query without a log_comment, or an empty one", () => {
    expect(queryLogRow(new Map(), "q", { type: "QueryFinish" }, now)).toBeUndefined();
    expect(queryLogRow(new Map([["log_comment", ""]]), "q", { type: "QueryFinish" }, now)).toBeUndefined();
  });

  it("writes system.query_log's column names, with the exception code of a failed query", () => {
    const settings = new Map([["log_comment", 'it\'s "tagged"']]);
    expect(JSON.parse(queryLogRow(settings, "q1", { type: "QueryFinish" }, now) ?? "")).toEqual({
      event_time: "2001-02-03 04:05:06.789",
      query_id: "q1",
      log_comment: 'it\'s "tagged"',
      type: "QueryFinish",
      exception_code: 0,
    });
    expect(
      JSON.parse(queryLogRow(settings, "q2", { type: "ExceptionWhileProcessing", code: 60 }, now) ?? ""),
    ).toMatchObject({ type: "ExceptionWhileProcessing", exception_code: 60 });
  });
});

describe("the stand-in server's query log", () => {
  const user = "tally-unit";
  const password = "secret";
  let dataDir: string;
  let server: ClickhouseHttpServer;
  let client: ClickHouseClient;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "tally-clickhouse-querylog-"));
    server = await startClickhouseHttpServer({ host: "127.0.0.1", port: 0, dataDir, user, password });
    client = createClient({
      url: server.url,
      username: user,
      password,
      log: { level: ClickHouseLogLevel.OFF },
    });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await server?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const counts = async (comment: string) => {
    const result = await client.query({
      query: `SELECT type, count() AS n FROM ${standinQueryLogTable} WHERE log_comment = {c:String} GROUP BY type ORDER BY type`,
      query_params: { c: comment },
      format: "JSONEachRow",
    });
    return Object.fromEntries(
      (await result.json<{ type: string; n: string }>()).map((r) => [r.type, Number(r.n)]),
    );
  };

  it("counts each tagged query once, as soon as its reply is back, and failures apart", async () => {
    const tag = `unit-${randomUUID()}`;
    const other = `unit-${randomUUID()}`;
    const run = (query: string, comment: string) =>
      client.query({ query, format: "JSONEachRow", clickhouse_settings: { log_comment: comment } });
    await Promise.all(Array.from({ length: 5 }, (_, i) => run(`SELECT ${i} AS x`, tag)));
    await run("SELECT 1", other);
    await client.query({ query: "SELECT 2", format: "JSONEachRow" });
    await expect(run("SELECT * FROM no_such_table_here", tag)).rejects.toMatchObject({
      type: "UNKNOWN_TABLE",
    });

    expect(await counts(tag)).toEqual({ QueryFinish: 5, ExceptionWhileProcessing: 1 });
    expect(await counts(other)).toEqual({ QueryFinish: 1 });
  });
});
