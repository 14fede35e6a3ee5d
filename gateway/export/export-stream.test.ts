import Fastify from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import type { ResultValue } from "../../api/v1alpha1/query.js";
import { csvField, csvLine } from "./csv-encode.js";
import { contentDisposition, exportFormatOf } from "./export-format.js";
import { sendExport } from "./export-reply.js";
import { chunked, defaultExportRowCap, exportLines, truncationLine } from "./export-stream.js";

async function collect(lines: AsyncIterable<string>): Promise<string> {
  let out = "";
  for await (const line of lines) out += line;
  return out;
}

const rows = (n: number): Record<string, ResultValue>[] =>
  Array.from({ length: n }, (_, i) => ({ a: i, b: `v${i}` }));

describe("CSV encoding", () => {
  it("quotes a field with a comma, a quote, CR or LF or edge spaces, doubles quotes, leaves the rest bare", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField('say "hi", then go')).toBe('"say ""hi"", then go"');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\r")).toBe('"cr\r"');
    expect(csvField(" padded")).toBe('" padded"');
    expect(csvField(null)).toBe("");
    expect(csvField(1.5)).toBe("1.5");
    expect(csvField(false)).toBe("false");
    expect(csvLine(["a", null, 3])).toBe("a,,3\r\n");
  });
});

describe("export format", () => {
  it("takes ?format over Accept, and JSON unless asked otherwise", () => {
    expect(exportFormatOf("text/csv", undefined)).toBe("csv");
    expect(exportFormatOf("application/x-ndjson;q=1, */*", undefined)).toBe("jsonl");
    expect(exportFormatOf("text/csv", "jsonl")).toBe("jsonl");
    expect(exportFormatOf("application/json", undefined)).toBe("json");
    expect(exportFormatOf(undefined, undefined)).toBe("json");
    expect(contentDisposition('query-a"b/c', "csv")).toBe('attachment; filename="query-a_b_c.csv"');
  });
});

describe("export lines", () => {
  it("writes the header and every row under the cap, with no truncation line", async () => {
    const text = await collect(exportLines("csv", { columns: ["a", "b"], rows: rows(3) }, 3));
    expect(text).toBe("a,b\r\n0,v0\r\n1,v1\r\n2,v2\r\n");
  });

  it("stops at the cap and says so in a last line (CSV and JSON Lines)", async () => {
    const csv = await collect(exportLines("csv", { columns: ["a", "b"], rows: rows(10) }, 4));
    expect(csv.split("\r\n").slice(0, -1)).toEqual([
      "a,b",
      "0,v0",
      "1,v1",
      "2,v2",
      "3,v3",
      truncationLine("csv", 4).trim(),
    ]);
    const jsonl = (await collect(exportLines("jsonl", { columns: ["b", "a"], rows: rows(10) }, 2)))
      .trim()
      .split("\n");
    expect(jsonl.map((l) => JSON.parse(l))).toEqual([
      { b: "v0", a: 0 },
      { b: "v1", a: 1 },
      { _tally: { truncated: true, rowCap: 2 } },
    ]);
    expect(defaultExportRowCap).toBe(300_000);
  });

  it("chunks lines into writes of about the given size", async () => {
    async function* lines() {
      for (let i = 0; i < 100; i++) yield "0123456789";
    }
    const chunks: string[] = [];
    for await (const c of chunked(lines(), 250)) chunks.push(c);
    expect(chunks.map((c) => c.length)).toEqual([250, 250, 250, 250]);
  });
});

describe("export reply streaming", () => {
  const apps: ReturnType<typeof Fastify>[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  it("sends the first rows while the source is still producing (no full buffering)", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let released = false;
    // 5,000 rows, then the source waits for the gate, which only the client opens after it has bytes.
    async function* source(): AsyncGenerator<Record<string, ResultValue>> {
      for (const row of rows(5_000)) yield row;
      await gate;
      released = true;
      for (const row of rows(5_000)) yield row;
    }
    const app = Fastify();
    apps.push(app);
    app.get("/export", async (_request, reply) =>
      sendExport(reply, "csv", "test", { columns: ["a", "b"], rows: source() }, 1_000_000),
    );
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    const response = await fetch(`${url}/export`);
    expect(response.headers.get("x-tally-row-cap")).toBe("1000000");
    expect(response.headers.get("transfer-encoding")).toBe("chunked");
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="test.csv"');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    // Bytes arrived while the source was still blocked: a buffering exporter would never send them.
    expect(released).toBe(false);
    expect(new TextDecoder().decode(first.value).startsWith("a,b\r\n0,v0\r\n")).toBe(true);
    release();
    let total = first.value?.length ?? 0;
    for (let next = await reader.read(); !next.done; next = await reader.read()) total += next.value.length;
    expect(released).toBe(true);
    expect(total).toBeGreaterThan(10_000 * 5);
  });
});
