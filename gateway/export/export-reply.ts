/**
 * Sending an export (thin I/O): the content type, a Content-Disposition filename, the row cap in
 * `x-tally-row-cap`, and the lines as a stream fastify writes chunk by chunk (Transfer-Encoding:
 * chunked), pulling the next rows only as the client reads (backpressure), so memory stays bounded.
 */
import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import { contentDisposition, type ExportFormat, exportContentTypes } from "./export-format.js";
import { chunked, type ExportTable, exportLines } from "./export-stream.js";

export function sendExport(
  reply: FastifyReply,
  format: Exclude<ExportFormat, "json">,
  filenameStem: string,
  table: ExportTable,
  rowCap: number,
): FastifyReply {
  reply.headers({
    "content-type": exportContentTypes[format],
    "content-disposition": contentDisposition(filenameStem, format),
    "x-tally-row-cap": String(rowCap),
    "cache-control": "no-store",
  });
  return reply.send(Readable.from(chunked(exportLines(format, table, rowCap)), { objectMode: false }));
}
