/**
 * A ClickHouse-compatible HTTP server over the chdb engine, for the local stack and tests: no
 * clickhouse-server package is available here, and @clickhouse/client must run unchanged against
 * it. It follows ClickHouse's documented HTTP interface (docs "HTTP Interface") and, where the docs
 * are silent, the server's src/Server/HTTPHandler.cpp.
 *
 * Supported
 * - GET and POST on `/`; the query in the `query` URL parameter and/or the body (joined with a line
 *   break, as the server does), or in multipart/form-data fields (the client's long-parameter mode).
 *   GET (and the `readonly` setting) only runs read-only statements (SELECT, SHOW, DESCRIBE, ...).
 * - `/ping` and `/replicas_status` answer "Ok.\n"; `GET /` with no query answers "Ok.\n".
 * - INSERT with inline data in any input format the engine has, text or binary (JSONEachRow, CSV,
 *   TSV, Values, RowBinary, Parquet, ...): the SQL part and the data bytes are handed to the engine
 *   separately, so binary data is never decoded as text.
 * - Settings as URL parameters, applied to that one query only (SET before, restored after).
 * - `param_<name>` typed query parameters, passed to the engine verbatim as the server does.
 * - `database` (or X-ClickHouse-Database), `default_format` (or X-ClickHouse-Format), `query_id`
 *   (or X-ClickHouse-Query-Id; a UUID when absent). Without a FORMAT clause the result is
 *   TabSeparated.
 * - Response headers X-ClickHouse-Query-Id, -Format, -Timezone, -Summary, -Server-Display-Name,
 *   -Exception-Code; Content-Type per output format.
 * - Errors as the server writes them, `Code: 60. DB::Exception: ... (UNKNOWN_TABLE) (version 26.x)`,
 *   with the server's HTTP status for the code (see errors.ts).
 * - Auth: Basic, X-ClickHouse-User/X-ClickHouse-Key, or `user`/`password` parameters, against one
 *   configured user; anything else is 516 AUTHENTICATION_FAILED with status 403.
 * - Stand-in only (the real server has system.query_log instead, which chdb lacks): every query
 *   with a `log_comment` URL setting gets a row in `tally_standin.query_log` before its response is
 *   sent, so tests can count the queries that reached ClickHouse (see query-log.ts).
 * - HTTP compression: gzip/deflate/br request bodies (Content-Encoding) and responses
 *   (`enable_http_compression=1` plus Accept-Encoding).
 *
 * Not supported (and how it shows)
 * - Sessions: `session_id` is accepted and ignored; every request is sessionless. A `SET`
 *   statement is accepted and does nothing, as on the real server without a session. Temporary
 *   tables, however, live on in chdb's session until restart.
 * - Streaming: results are buffered whole (as with wait_end_of_query=1), so errors always come
 *   with a proper status; `send_progress_in_http_headers` sends no progress headers.
 * - `compress`/`decompress` (ClickHouse's native block compression), external data (file parts
 *   of a multipart request), zstd/lz4/xz/... HTTP compression: NOT_IMPLEMENTED (501).
 * - Multi-statement queries: SYNTAX_ERROR (62), as on the real server (chdb alone would run them).
 * - `param_*` with an INSERT that carries binary inline data: parameterised statements go through
 *   the engine's text query path. X-ClickHouse-Summary's read_* are 0 for INSERT and result_rows
 *   is counted only for TSV/JSON row formats.
 * - Concurrency: queries run one at a time (see chdb-engine.ts); a slow query delays the others.
 * - One data directory per process (chdb's limit): a second server in the same process must use
 *   the same directory or wait until the first is closed.
 */
import { randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { ChdbEngine, type EngineJob, type EngineOutcome } from "./chdb-engine.js";
import { ClickHouseServerError, fromEngineError, httpStatusForErrorCode } from "./errors.js";
import {
  chooseResponseEncoding,
  contentTypeForFormat,
  countResultRows,
  decodeRequestBody,
  encodeResponseBody,
} from "./http-codec.js";
import {
  composeQueryText,
  extractCredentials,
  parseMultipartFields,
  parseRequestParams,
  type RequestParams,
} from "./http-request.js";
import {
  type QueryLogOutcome,
  queryLogRow,
  standinQueryLogSetup,
  standinQueryLogTable,
} from "./query-log.js";
import { analyzeQuery, isReadOnlyKind, type QueryShape } from "./query-shape.js";

interface ClickhouseHttpServerOptions {
  readonly host: string;
  /** 0 picks a free port; read the result's `url`. */
  readonly port: number;
  readonly dataDir: string;
  readonly user: string;
  readonly password: string;
  /** Called once per finished request (main.ts prints it as a JSON line). */
  readonly onRequest?: (entry: RequestLogEntry) => void;
}

interface RequestLogEntry {
  readonly method: string;
  readonly path: string;
  readonly queryId: string | undefined;
  readonly status: number;
  readonly durationMs: number;
  /** The ClickHouse exception code when the request failed. */
  readonly errorCode: number | undefined;
}

export interface ClickhouseHttpServer {
  readonly url: string;
  /** Stops accepting requests, finishes those in flight, then closes the chdb session. */
  close(): Promise<void>;
}

const textPlain = "text/plain; charset=UTF-8";

/** What a handled request turns into; `handle` writes it. */
interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

const noWork: EngineOutcome = {
  output: Buffer.alloc(0),
  readRows: 0,
  readBytes: 0,
  writtenRows: 0,
  writtenBytes: 0,
  elapsedNs: 0n,
};

function secretsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function settingIsOn(params: RequestParams, name: string): boolean {
  const value = params.httpSettings.get(name);
  return value !== undefined && value !== "0" && value.toLowerCase() !== "false";
}

function buildJob(text: Buffer, shape: QueryShape, params: RequestParams): EngineJob {
  const context = {
    database: params.database,
    settings: params.settings,
    mayChangeDatabase: shape.kind === "USE",
  };
  const hasParams = Object.keys(params.queryParams).length > 0;
  // The raw insert path reports rows written but cannot bind parameters.
  if (shape.kind === "INSERT" && !hasParams) {
    if (shape.sqlEnd === undefined || shape.dataOffset === undefined) {
      return { ...context, type: "insert", prefix: text.toString("utf8"), data: Buffer.alloc(0) };
    }
    return {
      ...context,
      type: "insert",
      prefix: text.subarray(0, shape.sqlEnd).toString("utf8"),
      data: text.subarray(shape.dataOffset),
    };
  }
  return {
    ...context,
    type: "query",
    sql: text.toString("utf8"),
    defaultFormat: params.defaultFormat ?? "TabSeparated",
    params: params.queryParams,
  };
}

function summaryHeader(outcome: EngineOutcome, resultRows: number, resultBytes: number): string {
  const fields = {
    read_rows: outcome.readRows,
    read_bytes: outcome.readBytes,
    written_rows: outcome.writtenRows,
    written_bytes: outcome.writtenBytes,
    total_rows_to_read: outcome.readRows,
    result_rows: resultRows,
    result_bytes: resultBytes,
    elapsed_ns: outcome.elapsedNs,
  };
  // The server sends every counter as a JSON string (they are UInt64).
  return JSON.stringify(
    Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, String(value)])),
  );
}

export async function startClickhouseHttpServer(
  options: ClickhouseHttpServerOptions,
): Promise<ClickhouseHttpServer> {
  const engine = await ChdbEngine.open(options.dataDir);
  const internal = { database: undefined, settings: new Map<string, string>(), mayChangeDatabase: false };
  try {
    for (const sql of standinQueryLogSetup) {
      await engine.execute({ ...internal, type: "query", sql, defaultFormat: "TabSeparated", params: {} });
    }
  } catch (error) {
    await engine.close();
    throw new Error(`cannot create ${standinQueryLogTable}`, { cause: error });
  }
  /** Records a tagged query before its reply goes out, so a client that got the reply sees the row. */
  const recordQuery = async (params: RequestParams, queryId: string, outcome: QueryLogOutcome) => {
    const row = queryLogRow(params.settings, queryId, outcome, new Date());
    if (row === undefined) return;
    await engine.execute({
      ...internal,
      type: "insert",
      prefix: `INSERT INTO ${standinQueryLogTable} FORMAT JSONEachRow`,
      data: Buffer.from(row),
    });
  };
  const displayName = hostname();
  const inFlight = new Set<Promise<void>>();
  let closing = false;

  const errorReply = (error: ClickHouseServerError, queryId: string | undefined): Reply => ({
    status: httpStatusForErrorCode(error.code),
    headers: {
      "Content-Type": textPlain,
      "X-ClickHouse-Exception-Code": String(error.code),
      ...(queryId === undefined ? {} : { "X-ClickHouse-Query-Id": queryId }),
    },
    body: Buffer.from(`${error.toText(engine.version)}\n`),
  });

  const okReply = (): Reply => ({
    status: 200,
    headers: { "Content-Type": textPlain },
    body: Buffer.from("Ok.\n"),
  });

  /** Authenticates, parses and runs one request to `/`; errors are thrown as ClickHouseServerError. */
  async function runQuery(
    request: IncomingMessage,
    url: URL,
    setQueryId: (id: string) => void,
  ): Promise<Reply> {
    const rawBody = await readBody(request);
    const method = request.method ?? "GET";
    const readOnlyMethod = method === "GET" || method === "HEAD";
    if (readOnlyMethod && !url.searchParams.has("query") && rawBody.length === 0) return okReply();

    const credentials = extractCredentials(request.headers, url.searchParams);
    if (
      !secretsEqual(credentials.user, options.user) ||
      !secretsEqual(credentials.password, options.password)
    ) {
      throw ClickHouseServerError.of(
        "AUTHENTICATION_FAILED",
        `${credentials.user}: Authentication failed: password is incorrect, or there is no user with such name`,
      );
    }

    const body = await decodeRequestBody(rawBody, request.headers["content-encoding"]);
    const contentType = request.headers["content-type"] ?? "";
    const multipart = contentType.startsWith("multipart/form-data");
    const fields: Array<[string, string]> = [...url.searchParams];
    if (multipart) fields.push(...parseMultipartFields(body, contentType));
    const params = parseRequestParams(fields, request.headers, multipart);
    const queryId = params.queryId ?? randomUUID();
    setQueryId(queryId);
    if (params.compress || params.decompress) {
      throw ClickHouseServerError.of(
        "NOT_IMPLEMENTED",
        "compress/decompress (ClickHouse native block compression) is not supported by this test server; use HTTP compression",
      );
    }

    const text = composeQueryText(params.query, body, multipart);
    // latin1 maps bytes 1:1 to characters, so offsets found in the text are byte offsets.
    const shape = analyzeQuery(text.toString("latin1"));
    if (shape.kind === "") throw ClickHouseServerError.of("SYNTAX_ERROR", "Empty query");
    if (shape.secondStatementAt !== undefined) {
      const rest = text.subarray(shape.secondStatementAt, shape.secondStatementAt + 60).toString("utf8");
      throw ClickHouseServerError.of(
        "SYNTAX_ERROR",
        `Syntax error (Multi-statements are not allowed): failed at position ${shape.secondStatementAt + 1} (end of query): ${rest}`,
      );
    }
    const readonlySetting = (params.httpSettings.get("readonly") ?? "0") !== "0";
    if ((readOnlyMethod || readonlySetting) && !isReadOnlyKind(shape.kind)) {
      const why = readOnlyMethod
        ? ". For queries over HTTP, method GET implies readonly. You should use method POST for modifying queries"
        : "";
      throw ClickHouseServerError.of(
        "READONLY",
        `${credentials.user}: Cannot execute query in readonly mode${why}`,
      );
    }

    const headers: Record<string, string> = {
      "X-ClickHouse-Query-Id": queryId,
      "X-ClickHouse-Timezone": params.settings.get("session_timezone") || engine.timezone,
    };
    if (shape.kind === "SET") {
      // Without a session a SET lasts for its own query only, so it has no effect to keep.
      headers["X-ClickHouse-Summary"] = summaryHeader(noWork, 0, 0);
      return { status: 200, headers: { ...headers, "Content-Type": textPlain }, body: Buffer.alloc(0) };
    }

    const job = buildJob(text, shape, params);
    let outcome: EngineOutcome;
    try {
      outcome = await engine.execute(job);
    } catch (error) {
      const failure = fromEngineError(error, "chdb failed to run the query");
      await recordQuery(params, queryId, { type: "ExceptionWhileProcessing", code: failure.code });
      throw failure;
    }
    await recordQuery(params, queryId, { type: "QueryFinish" });
    let output = outcome.output;
    if (job.type === "insert") {
      headers["Content-Type"] = textPlain;
      headers["X-ClickHouse-Summary"] = summaryHeader(outcome, outcome.writtenRows, outcome.writtenBytes);
    } else {
      const format = shape.format ?? job.defaultFormat;
      headers["Content-Type"] = contentTypeForFormat(format);
      headers["X-ClickHouse-Format"] = format;
      headers["X-ClickHouse-Summary"] = summaryHeader(
        outcome,
        countResultRows(format, output),
        output.length,
      );
    }
    const encoding = settingIsOn(params, "enable_http_compression")
      ? chooseResponseEncoding(request.headers["accept-encoding"])
      : undefined;
    if (encoding !== undefined && output.length > 0) {
      output = await encodeResponseBody(output, encoding);
      headers["Content-Encoding"] = encoding;
    }
    return { status: 200, headers, body: output };
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(request.url ?? "/", "http://clickhouse");
    let queryId: string | undefined;
    let reply: Reply;
    let errorCode: number | undefined;
    try {
      if (closing) throw ClickHouseServerError.of("ABORTED", "The server is shutting down");
      if (url.pathname === "/ping" || url.pathname === "/replicas_status") {
        await readBody(request);
        reply = okReply();
      } else if (url.pathname === "/") {
        reply = await runQuery(request, url, (id) => {
          queryId = id;
        });
      } else {
        await readBody(request);
        reply = {
          status: 404,
          headers: { "Content-Type": textPlain },
          body: Buffer.from(`There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\n`),
        };
      }
    } catch (error) {
      const failure = fromEngineError(error, `${request.method ?? "?"} ${url.pathname} failed`);
      errorCode = failure.code;
      reply = errorReply(failure, queryId);
    }

    response.statusCode = reply.status;
    response.setHeader("X-ClickHouse-Server-Display-Name", displayName);
    for (const [name, value] of Object.entries(reply.headers)) response.setHeader(name, value);
    if (closing) response.setHeader("Connection", "close");
    response.setHeader("Content-Length", String(reply.body.length));
    response.end(request.method === "HEAD" ? undefined : reply.body);
    options.onRequest?.({
      method: request.method ?? "?",
      path: url.pathname,
      queryId,
      status: reply.status,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      errorCode,
    });
  }

  // The real server accepts URLs up to http_max_uri_size (1 MiB); the client sends query parameters in
  // the URL, so Node's default 16 KiB header limit would cut a query with a long IN list short.
  const server = createServer({ maxHeaderSize: 1024 * 1024 }, (request, response) => {
    const task = handle(request, response).catch((error: unknown) => {
      // Only writing the response itself can fail here (the client went away).
      response.destroy(error instanceof Error ? error : new Error(String(error)));
    });
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  });
  // Above the client's default idle socket TTL (2.5 s), like the server's own keep_alive_timeout.
  server.keepAliveTimeout = 10_000;

  try {
    await new Promise<void>((resolveListen, rejectListen) => {
      server.once("error", rejectListen);
      server.listen(options.port, options.host, () => {
        server.off("error", rejectListen);
        resolveListen();
      });
    });
  } catch (error) {
    await engine.close();
    throw new Error(`cannot listen on ${options.host}:${options.port}`, { cause: error });
  }
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`,
    close() {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
        server.closeIdleConnections();
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        // Sockets that carried the last requests are idle now.
        server.closeAllConnections();
        await stopped;
        await engine.close();
      })();
      return closed;
    },
  };
}
