import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  chooseResponseEncoding,
  contentTypeForFormat,
  countResultRows,
  decodeRequestBody,
  encodeResponseBody,
} from "./http-codec.js";

describe("request and response compression", () => {
  it("decodes gzip bodies and passes plain ones through", async () => {
    expect((await decodeRequestBody(gzipSync("SELECT 1"), "gzip")).toString()).toBe("SELECT 1");
    expect((await decodeRequestBody(Buffer.from("x"), undefined)).toString()).toBe("x");
  });

  it("round-trips every supported response encoding", async () => {
    for (const encoding of ["gzip", "deflate", "br"] as const) {
      const encoded = await encodeResponseBody(Buffer.from("1\n2\n"), encoding);
      expect((await decodeRequestBody(encoded, encoding)).toString()).toBe("1\n2\n");
    }
  });

  it("reports corrupt bodies as CANNOT_DECOMPRESS and unknown encodings as NOT_IMPLEMENTED", async () => {
    await expect(decodeRequestBody(Buffer.from("not gzip"), "gzip")).rejects.toMatchObject({ code: 271 });
    await expect(decodeRequestBody(Buffer.from("x"), "lz4")).rejects.toMatchObject({ code: 48 });
  });

  it("picks br, then gzip, then deflate from Accept-Encoding", () => {
    expect(chooseResponseEncoding("gzip, deflate, br")).toBe("br");
    expect(chooseResponseEncoding("deflate;q=0.5, gzip")).toBe("gzip");
    expect(chooseResponseEncoding("zstd")).toBeUndefined();
    expect(chooseResponseEncoding(undefined)).toBeUndefined();
  });
});

describe("contentTypeForFormat", () => {
  it.each([
    ["TabSeparated", "text/tab-separated-values; charset=UTF-8"],
    ["TSVWithNames", "text/tab-separated-values; charset=UTF-8"],
    ["CSV", "text/csv; charset=UTF-8; header=absent"],
    ["CSVWithNames", "text/csv; charset=UTF-8; header=present"],
    ["JSONEachRow", "application/json; charset=UTF-8"],
    ["RowBinaryWithNamesAndTypes", "application/octet-stream"],
    ["Parquet", "application/octet-stream"],
    ["Pretty", "text/plain; charset=UTF-8"],
  ])("%s -> %s", (format, contentType) => {
    expect(contentTypeForFormat(format)).toBe(contentType);
  });
});

describe("countResultRows", () => {
  it("counts lines of row formats, minus header lines", () => {
    expect(countResultRows("TabSeparated", Buffer.from("1\n2\n"))).toBe(2);
    expect(countResultRows("TSVWithNamesAndTypes", Buffer.from("a\nUInt8\n1\n"))).toBe(1);
    expect(countResultRows("JSONEachRow", Buffer.from('{"a":1}\n{"a":2}\n{"a":3}\n'))).toBe(3);
  });

  it("reads the rows field of JSON and reports 0 where it cannot be exact", () => {
    expect(countResultRows("JSON", Buffer.from('{"data":[],\n"rows": 7,\n"statistics":{}}\n'))).toBe(7);
    expect(countResultRows("CSV", Buffer.from('"a\nb"\n'))).toBe(0);
  });
});
