/**
 * Byte-level parts of the HTTP exchange: HTTP compression of request and response bodies, the
 * Content-Type the server sends for an output format, and the result row count for
 * X-ClickHouse-Summary.
 */
import { promisify } from "node:util";
import { brotliCompress, brotliDecompress, deflate, gunzip, gzip, inflate } from "node:zlib";
import { ClickHouseServerError } from "./errors.js";

type HttpEncoding = "gzip" | "deflate" | "br";

const decoders: Record<HttpEncoding, (input: Buffer) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};
const encoders: Record<HttpEncoding, (input: Buffer) => Promise<Buffer>> = {
  gzip: promisify(gzip),
  deflate: promisify(deflate),
  br: promisify(brotliCompress),
};

function asEncoding(name: string): HttpEncoding | undefined {
  const lower = name.trim().toLowerCase();
  if (lower === "gzip" || lower === "x-gzip") return "gzip";
  if (lower === "deflate" || lower === "br") return lower;
  return undefined;
}

/** Decodes a body sent with Content-Encoding (the client's `compression.request`). */
export async function decodeRequestBody(body: Buffer, contentEncoding: string | undefined): Promise<Buffer> {
  if (contentEncoding === undefined || contentEncoding === "" || contentEncoding === "identity") return body;
  const encoding = asEncoding(contentEncoding);
  if (encoding === undefined) {
    // The real server also knows zstd, xz, lz4, bz2 and snappy; Node 20's zlib has none of them.
    throw ClickHouseServerError.of(
      "NOT_IMPLEMENTED",
      `Content-Encoding '${contentEncoding}' is not supported by this test server (gzip, deflate and br are)`,
    );
  }
  try {
    return await decoders[encoding](body);
  } catch (error) {
    throw ClickHouseServerError.of(
      "CANNOT_DECOMPRESS",
      `Cannot decompress the ${encoding} request body: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/**
 * Picks the response encoding from Accept-Encoding, preferring what the server prefers (br, then
 * gzip, then deflate). Quality values are ignored, as the server ignores them.
 */
export function chooseResponseEncoding(acceptEncoding: string | undefined): HttpEncoding | undefined {
  if (acceptEncoding === undefined) return undefined;
  const offered = new Set(acceptEncoding.split(",").map((part) => asEncoding(part.split(";")[0] ?? "")));
  return (["br", "gzip", "deflate"] as const).find((encoding) => offered.has(encoding));
}

export function encodeResponseBody(body: Buffer, encoding: HttpEncoding): Promise<Buffer> {
  return encoders[encoding](body);
}

const binaryFormats =
  /^(rowbinary.*|native|parquet|arrow|arrowstream|orc|avro|msgpack|protobuf.*|capnproto|bsoneachrow|npy)$/;

/** The Content-Type the server's output formats declare. */
export function contentTypeForFormat(format: string): string {
  const f = format.toLowerCase();
  if (f.startsWith("tabseparated") || f.startsWith("tsv")) return "text/tab-separated-values; charset=UTF-8";
  if (f === "csv") return "text/csv; charset=UTF-8; header=absent";
  if (f.startsWith("csvwithnames")) return "text/csv; charset=UTF-8; header=present";
  if (f.startsWith("json") || f.startsWith("ndjson")) return "application/json; charset=UTF-8";
  if (f === "xml") return "application/xml; charset=UTF-8";
  if (binaryFormats.test(f)) return "application/octet-stream";
  return "text/plain; charset=UTF-8";
}

/**
 * Rows in a formatted result, for X-ClickHouse-Summary's result_rows. The engine does not report
 * it, so it is counted from the output where the format makes that exact: one line per row for
 * TSV and the JSON *EachRow formats (minus header lines), the "rows" field of JSON/JSONCompact.
 * Other formats report 0.
 */
export function countResultRows(format: string, output: Buffer): number {
  const f = format.toLowerCase();
  const lineFormats = /^(tabseparated|tsv)(raw)?(withnames(andtypes)?)?$|^json(compact)?(strings)?eachrow$/;
  const lines = lineFormats.exec(f);
  if (lines !== null) {
    let newlines = 0;
    for (const byte of output) if (byte === 0x0a) newlines += 1;
    const headers = f.endsWith("withnamesandtypes") ? 2 : f.endsWith("withnames") ? 1 : 0;
    return Math.max(0, newlines - headers);
  }
  if (/^json(compact)?(strings)?$/.test(f)) {
    const tail = output.subarray(Math.max(0, output.length - 1024)).toString("utf8");
    const rows = /"rows":\s*(\d+)/.exec(tail);
    return rows?.[1] === undefined ? 0 : Number(rows[1]);
  }
  return 0;
}
