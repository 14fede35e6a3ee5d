/**
 * Turns an HTTP request into what the engine needs, following the rules of ClickHouse's
 * HTTPHandler: which URL parameters are reserved, which are `param_*` query parameters and which
 * are settings; where the user and password come from; and how the `query` parameter and the
 * body join into one query text (or, for multipart/form-data, how the form fields supply them).
 */
import type { IncomingHttpHeaders } from "node:http";
import { ClickHouseServerError } from "./errors.js";

/** URL parameters that are neither settings nor query parameters (HTTPHandler's reserved names). */
const reservedParams = new Set([
  "query",
  "database",
  "default_format",
  "compress",
  "decompress",
  "user",
  "password",
  "quota_key",
  "query_id",
  "stacktrace",
  "buffer_size",
  "wait_end_of_query",
  "session_id",
  "session_timeout",
  "session_check",
  "client_protocol_version",
  "close_session",
  "role",
]);

/**
 * Settings that shape the HTTP exchange rather than the query. The server reads them itself and
 * does not hand them to the engine: that saves a SET/restore round trip on every request of a
 * client with response compression on, and `readonly` in particular could not be restored once set
 * on chdb's shared session.
 */
const httpOnlySettings = new Set([
  "enable_http_compression",
  "http_zlib_compression_level",
  "send_progress_in_http_headers",
  "http_headers_progress_interval_ms",
  "http_response_buffer_size",
  "http_wait_end_of_query",
  "add_http_cors_header",
  "cancel_http_readonly_queries_on_client_close",
  "http_write_exception_in_output_format",
  "readonly",
]);

const settingName = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface RequestParams {
  /** The `query` parameter(s); joined with the body by {@link composeQueryText}. */
  readonly query: string | undefined;
  readonly database: string | undefined;
  readonly defaultFormat: string | undefined;
  readonly queryId: string | undefined;
  /** Settings for the engine, applied to this one query. Later duplicates win, as on the server. */
  readonly settings: ReadonlyMap<string, string>;
  /** HTTP-layer settings the server interprets itself (see httpOnlySettings). */
  readonly httpSettings: ReadonlyMap<string, string>;
  /** `param_<name>` values, verbatim (already in the server's escaped text form). First wins. */
  readonly queryParams: Readonly<Record<string, string>>;
  readonly compress: boolean;
  readonly decompress: boolean;
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && value !== "0" && value.toLowerCase() !== "false" && value !== "";
}

/**
 * Sorts request parameters. `fields` are URL parameters followed by multipart form fields (the
 * server treats both alike); `headers` may carry X-ClickHouse-Database / -Format / -Query-Id.
 */
export function parseRequestParams(
  fields: ReadonlyArray<readonly [string, string]>,
  headers: IncomingHttpHeaders,
  multipart: boolean,
): RequestParams {
  const settings = new Map<string, string>();
  const httpSettings = new Map<string, string>();
  const queryParams: Record<string, string> = {};
  const queryParts: string[] = [];
  // The headers win over the URL parameters, as in HTTPHandler.
  let database = headerValue(headers, "x-clickhouse-database") || undefined;
  let defaultFormat = headerValue(headers, "x-clickhouse-format") || undefined;
  let queryId: string | undefined;
  let compress: string | undefined;
  let decompress: string | undefined;

  for (const [key, value] of fields) {
    if (key === "") continue;
    if (key === "query") queryParts.push(value);
    else if (key === "database") database ??= value;
    else if (key === "default_format") defaultFormat ??= value;
    else if (key === "query_id") queryId ??= value;
    else if (key === "compress") compress = value;
    else if (key === "decompress") decompress = value;
    else if (reservedParams.has(key)) continue;
    else if (key.startsWith("param_")) {
      const name = key.slice("param_".length);
      if (!(name in queryParams)) queryParams[name] = value;
    } else if (multipart && /_(format|types|structure)$/.test(key)) {
      // External-table descriptors; the server skips them here too.
    } else if (httpOnlySettings.has(key)) {
      httpSettings.set(key, value);
    } else if (!settingName.test(key)) {
      throw ClickHouseServerError.of("UNKNOWN_SETTING", `Unknown setting '${key}'`);
    } else {
      settings.set(key, value);
    }
  }
  return {
    query: queryParts.length === 0 ? undefined : queryParts.join(multipart ? "" : "\n"),
    database: database || undefined,
    defaultFormat: defaultFormat || undefined,
    queryId: queryId || headerValue(headers, "x-clickhouse-query-id") || undefined,
    settings,
    httpSettings,
    queryParams,
    compress: isTrue(compress),
    decompress: isTrue(decompress),
  };
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The full query text: the `query` parameter, a line break, then the body (HTTPHandler's
 * DynamicQueryHandler::getQuery). For multipart requests the body was the form, so only the
 * `query` field(s) count.
 */
export function composeQueryText(query: string | undefined, body: Buffer, multipart: boolean): Buffer {
  if (multipart) return Buffer.from(query ?? "", "utf8");
  if (query === undefined || query === "") return body;
  return Buffer.concat([Buffer.from(`${query}\n`, "utf8"), body]);
}

interface Credentials {
  readonly user: string;
  readonly password: string;
}

/**
 * Where the server takes credentials from, in its order: X-ClickHouse-User/-Key headers, HTTP
 * Basic auth, or `user`/`password` URL parameters (defaulting to user "default" with no password).
 * Mixing two of them is refused, as the server does.
 */
export function extractCredentials(headers: IncomingHttpHeaders, url: URLSearchParams): Credentials {
  const headerUser = headerValue(headers, "x-clickhouse-user") ?? "";
  const headerKey = headerValue(headers, "x-clickhouse-key") ?? "";
  const authorization = headerValue(headers, "authorization");
  const inParams = url.has("user") || url.has("password") || url.has("quota_key");
  const fail = (message: string) => ClickHouseServerError.of("AUTHENTICATION_FAILED", message);

  if (headerUser !== "" || headerKey !== "") {
    if (authorization !== undefined || inParams) {
      throw fail(
        "Invalid authentication: it is not allowed to use X-ClickHouse HTTP headers and other authentication methods simultaneously",
      );
    }
    return { user: headerUser === "" ? "default" : headerUser, password: headerKey };
  }
  if (authorization !== undefined) {
    if (inParams) {
      throw fail(
        "Invalid authentication: it is not allowed to use Authorization HTTP header and authentication via parameters simultaneously",
      );
    }
    const [scheme = "", info = ""] = authorization.trim().split(/\s+/, 2);
    if (scheme.toLowerCase() !== "basic") {
      throw fail(`Invalid authentication: '${scheme}' HTTP Authorization scheme is not supported`);
    }
    const decoded = Buffer.from(info, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon === -1
      ? { user: decoded, password: "" }
      : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return { user: url.get("user") ?? "default", password: url.get("password") ?? "" };
}

/**
 * Reads the fields of a multipart/form-data body (how @clickhouse/client sends query parameters
 * that are too long for the URL). File parts are ClickHouse's "external data" temporary tables,
 * which this server does not implement.
 */
export function parseMultipartFields(body: Buffer, contentType: string): Array<[string, string]> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const marker = boundary?.[1] ?? boundary?.[2];
  if (marker === undefined) {
    throw ClickHouseServerError.of("BAD_ARGUMENTS", "multipart/form-data request without a boundary");
  }
  const text = body.toString("utf8");
  const fields: Array<[string, string]> = [];
  for (const rawPart of text.split(`--${marker}`).slice(1)) {
    if (rawPart.startsWith("--")) break;
    const part = rawPart.replace(/^\r?\n/, "");
    const headerEnd = part.indexOf("\r\n\r\n");
    if (headerEnd === -1) continue;
    const head = part.slice(0, headerEnd);
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    if (name === undefined) continue;
    if (/filename=/i.test(head)) {
      throw ClickHouseServerError.of(
        "NOT_IMPLEMENTED",
        `External data (file part '${name}') is not supported by this chdb-backed test server`,
      );
    }
    fields.push([name, part.slice(headerEnd + 4).replace(/\r\n$/, "")]);
  }
  return fields;
}
