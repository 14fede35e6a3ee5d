/**
 * An incremental Server-Sent Events parser (pure), as the HTML standard defines the format: the page reads
 * the stream with fetch() (EventSource cannot send the bearer token), so it parses the frames itself.
 * Chunks may split lines, CRLF pairs and multi-byte characters anywhere; the caller decodes bytes with a
 * streaming TextDecoder and pushes the text here.
 */

export type SseMessage =
  | { readonly kind: "event"; readonly event: string; readonly data: string; readonly id: string }
  | { readonly kind: "comment"; readonly text: string };

export interface SseParser {
  /** The messages completed by this chunk, in order. */
  push(chunk: string): SseMessage[];
  /** The last event ID seen (sent back as Last-Event-ID on reconnect). */
  lastEventId(): string;
  /** The reconnection delay the server asked for with `retry:`, if any. */
  retryMs(): number | undefined;
}

export function createSseParser(): SseParser {
  let buffer = "";
  let pendingCr = false;
  let event = "";
  let data: string[] = [];
  let lastId = "";
  let retry: number | undefined;

  const line = (text: string, out: SseMessage[]): void => {
    if (text === "") {
      // A blank line dispatches: an event with no data line is dropped, as the standard says.
      if (data.length > 0)
        out.push({
          kind: "event",
          event: event === "" ? "message" : event,
          data: data.join("\n"),
          id: lastId,
        });
      event = "";
      data = [];
      return;
    }
    if (text.startsWith(":")) {
      out.push({ kind: "comment", text: text.slice(1).trimStart() });
      return;
    }
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id" && !value.includes("\0")) lastId = value;
    else if (field === "retry" && /^[0-9]+$/.test(value)) retry = Number(value);
  };

  return {
    push(chunk) {
      const out: SseMessage[] = [];
      let text = chunk;
      // A CR ended the previous chunk: a LF starting this one belongs to it.
      if (pendingCr && text.startsWith("\n")) text = text.slice(1);
      pendingCr = false;
      buffer += text;
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer[i];
        if (c !== "\n" && c !== "\r") continue;
        line(buffer.slice(start, i), out);
        if (c === "\r") {
          if (i + 1 === buffer.length) pendingCr = true;
          else if (buffer[i + 1] === "\n") i++;
        }
        start = i + 1;
      }
      buffer = buffer.slice(start);
      return out;
    },
    lastEventId: () => lastId,
    retryMs: () => retry,
  };
}
