/**
 * A Server-Sent Events reader for the tests and the bench: GET with a bearer token (and Last-Event-ID),
 * frames parsed as they arrive (gateway/stream/sse-frame.ts's parser), events kept in order with the
 * time each arrived, heartbeat comments counted. Nothing browser-specific: node:http, one socket each.
 */
import { type Agent, request } from "node:http";
import { type ParsedEvent, parseEventStream } from "../../gateway/stream/sse-frame.js";

export interface ReceivedEvent extends ParsedEvent {
  /** performance.now() when its last byte arrived. */
  readonly atMs: number;
}

export class SseRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`stream refused with ${status}: ${body}`);
  }
}

export class SseClient {
  readonly events: ReceivedEvent[] = [];
  comments = 0;
  ended = false;
  private buffer = "";
  private listeners = new Set<() => void>();

  private constructor(private readonly close_: () => void) {}

  static open(
    url: string,
    token: string,
    options: {
      readonly lastEventId?: string;
      readonly agent?: Agent;
      readonly onEvent?: (e: ReceivedEvent) => void;
    } = {},
  ): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = request(url, {
        agent: options.agent,
        headers: {
          authorization: `Bearer ${token}`,
          accept: "text/event-stream",
          ...(options.lastEventId === undefined ? {} : { "last-event-id": options.lastEventId }),
        },
      });
      req.on("error", reject);
      req.on("response", (response) => {
        response.setEncoding("utf8");
        if (response.statusCode !== 200) {
          let body = "";
          response.on("data", (chunk: string) => {
            body += chunk;
          });
          response.on("end", () => reject(new SseRefused(response.statusCode ?? 0, body)));
          return;
        }
        const client = new SseClient(() => req.destroy());
        response.on("data", (chunk: string) => {
          const parsed = parseEventStream(client.buffer + chunk);
          client.buffer = parsed.rest;
          client.comments += parsed.comments;
          const atMs = performance.now();
          for (const event of parsed.events) {
            const received = { ...event, atMs };
            client.events.push(received);
            options.onEvent?.(received);
          }
          for (const listener of client.listeners) listener();
        });
        const ended = () => {
          client.ended = true;
          for (const listener of client.listeners) listener();
        };
        response.on("end", ended);
        response.on("close", ended);
        resolve(client);
      });
      req.end();
    });
  }

  /** The first event from index `from` on that satisfies `predicate`, waiting up to `timeoutMs`. */
  async next(
    predicate: (event: ReceivedEvent) => boolean,
    timeoutMs: number,
    from = 0,
  ): Promise<ReceivedEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.events.slice(from).find(predicate);
        if (found !== undefined) {
          cleanup();
          resolve(found);
          return true;
        }
        if (this.ended) {
          cleanup();
          reject(
            new Error(`stream ended without the event; got ${this.events.map((e) => e.event).join(",")}`),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no such event within ${timeoutMs} ms; got ${this.events.length} events`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      const listener = () => void check();
      this.listeners.add(listener);
      check();
    });
  }

  close(): void {
    this.close_();
  }
}
