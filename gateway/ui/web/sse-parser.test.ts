import { describe, expect, it } from "vitest";
import { createSseParser, type SseMessage } from "./sse-parser.js";

function parseInChunks(text: string, size: number): SseMessage[] {
  const parser = createSseParser();
  const out: SseMessage[] = [];
  for (let i = 0; i < text.length; i += size) out.push(...parser.push(text.slice(i, i + size)));
  return out;
}

const stream =
  'event: snapshot\nid: v1\ndata: {"a":1}\n\n: hb\n\nevent: snapshot\r\nid: v2\r\ndata: line one\r\ndata: line two\r\n\r\n' +
  "data:no space\rid:v3\r\r";

const expected: SseMessage[] = [
  { kind: "event", event: "snapshot", data: '{"a":1}', id: "v1" },
  { kind: "comment", text: "hb" },
  { kind: "event", event: "snapshot", data: "line one\nline two", id: "v2" },
  { kind: "event", event: "message", data: "no space", id: "v3" },
];

describe("SSE parser", () => {
  it("parses events, multi-line data, ids and comments with LF, CRLF and CR line ends", () => {
    expect(parseInChunks(stream, stream.length)).toEqual(expected);
  });

  it("gives the same messages whatever the chunk boundaries (a CRLF split across chunks included)", () => {
    for (const size of [1, 2, 3, 5, 7, 13])
      expect(parseInChunks(stream, size), `chunks of ${size}`).toEqual(expected);
  });

  it("keeps an unfinished event until its blank line, and remembers the last id for Last-Event-ID", () => {
    const parser = createSseParser();
    expect(parser.push("event: snapshot\nid: 7\ndata: {")).toEqual([]);
    expect(parser.lastEventId()).toBe("7");
    expect(parser.push("}\n\n")).toEqual([{ kind: "event", event: "snapshot", data: "{}", id: "7" }]);
  });

  it("drops an event without data, keeps its id, reads retry, ignores unknown fields", () => {
    const parser = createSseParser();
    expect(parser.push("event: snapshot\nid: 9\nretry: 2500\nfoo: bar\n\n")).toEqual([]);
    expect(parser.lastEventId()).toBe("9");
    expect(parser.retryMs()).toBe(2500);
    expect(parser.push("retry: soon\n\n")).toEqual([]);
    expect(parser.retryMs()).toBe(2500);
  });

  it("reads an error event", () => {
    const parser = createSseParser();
    expect(parser.push('event: error\ndata: {"error":"NotFound","message":"gone"}\n\n')).toEqual([
      { kind: "event", event: "error", data: '{"error":"NotFound","message":"gone"}', id: "" },
    ]);
  });
});
