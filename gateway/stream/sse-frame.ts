/**
 * Server-Sent Events frames (pure), as the WHATWG event-stream format reads them: `event:`, `id:` and one
 * `data:` line, ended by a blank line. JSON.stringify escapes every newline inside strings, so a payload
 * is always one data line; an id never holds a newline (the version is hex).
 */
import type { ErrorResponse } from "../../api/v1alpha1/query.js";
import type { DashboardSnapshot } from "../../api/v1alpha1/stream.js";

export function snapshotFrame(version: string, snapshot: DashboardSnapshot): string {
  if (/[\r\n]/.test(version)) throw new Error(`version ${JSON.stringify(version)} holds a line break`);
  return `event: snapshot\nid: ${version}\ndata: ${JSON.stringify(snapshot)}\n\n`;
}

export function errorFrame(error: ErrorResponse): string {
  return `event: error\ndata: ${JSON.stringify(error)}\n\n`;
}

/** A comment line: clients ignore it; proxies see bytes and keep the connection open. */
export const heartbeatFrame = ": hb\n\n";

/** What a client parses back from a stream's text: its events, comments left out (the tests' reader). */
export interface ParsedEvent {
  readonly event: string;
  readonly id: string | undefined;
  readonly data: string;
}

export function parseEventStream(text: string): { events: ParsedEvent[]; comments: number; rest: string } {
  const events: ParsedEvent[] = [];
  let comments = 0;
  const blocks = text.replace(/\r\n?/g, "\n").split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    let event = "message";
    let id: string | undefined;
    const data: string[] = [];
    let fields = 0;
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) {
        comments += 1;
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      fields += 1;
      if (field === "event") event = value;
      else if (field === "id") id = value;
      else if (field === "data") data.push(value);
    }
    if (fields > 0) events.push({ event, id, data: data.join("\n") });
  }
  return { events, comments, rest };
}
