/**
 * Reads the gateway's live stream with fetch() and a streaming body (EventSource cannot send the bearer
 * token): snapshot frames go to the page, `Last-Event-ID` is sent on every reconnect so the server sends
 * only what changed. Reconnects with backoff after a dropped connection, a 5xx or a 429, and when nothing
 * (not even a heartbeat) arrived for 45 s; stops on a refusal (400, 401, 403, 404) or an error frame
 * saying the dashboard is gone (the server ends the stream then); any other error frame (a Dashboard
 * broken outside its panels) is shown while the stream stays open for the snapshot after the fix.
 */
import { type ApiFailure, describeFailure, unreachable } from "./api-failure.js";
import { type DashboardSnapshot, parseSnapshot } from "./dashboard-snapshot.js";
import { tokenOf } from "./session.js";
import { createSseParser } from "./sse-parser.js";

export type StreamState =
  | { readonly kind: "connecting" }
  | { readonly kind: "live"; readonly lastFrameAt: number }
  /** Connected, but the gateway said the dashboard cannot be served until it is fixed. */
  | { readonly kind: "faulted"; readonly failure: ApiFailure }
  | { readonly kind: "retrying"; readonly failure: ApiFailure; readonly inMs: number }
  | { readonly kind: "stopped"; readonly failure: ApiFailure };

export interface StreamHandlers {
  onSnapshot(snapshot: DashboardSnapshot): void;
  onState(state: StreamState): void;
}

const silenceMs = 45_000;
const maxBackoffMs = 15_000;

function retriable(status: number): boolean {
  return status === 429 || status >= 500;
}

export function openLiveStream(path: string, handlers: StreamHandlers): { close(): void } {
  let closed = false;
  let lastEventId = "";
  let backoffMs = 1_000;
  let controller: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const retry = (failure: ApiFailure, serverDelayMs?: number) => {
    if (closed) return;
    const inMs = serverDelayMs ?? backoffMs;
    backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
    handlers.onState({ kind: "retrying", failure, inMs });
    timer = setTimeout(() => void connect(), inMs);
  };

  async function connect(): Promise<void> {
    if (closed) return;
    controller = new AbortController();
    const current = controller;
    handlers.onState({ kind: "connecting" });
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(
        () => current.abort(new Error(`nothing received for ${silenceMs / 1000} s`)),
        silenceMs,
      );
    };
    const parser = createSseParser();
    try {
      const headers: Record<string, string> = {
        authorization: `Bearer ${tokenOf() ?? ""}`,
        accept: "text/event-stream",
      };
      if (lastEventId !== "") headers["last-event-id"] = lastEventId;
      arm();
      const response = await fetch(path, { headers, signal: current.signal, cache: "no-store" });
      if (!response.ok || response.body === null) {
        clearTimeout(watchdog);
        const failure = describeFailure(response.status, await response.json().catch(() => undefined));
        if (retriable(response.status)) retry(failure);
        else handlers.onState({ kind: "stopped", failure });
        return;
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        arm();
        for (const message of parser.push(value)) {
          handlers.onState({ kind: "live", lastFrameAt: Date.now() });
          if (message.kind === "comment") continue;
          lastEventId = parser.lastEventId();
          if (message.event === "error") {
            const body = safeJson(message.data);
            if (!endsStream(body)) {
              // The Dashboard's spec is broken outside its panels: the stream stays open and its next
              // snapshot comes once the Dashboard is fixed.
              handlers.onState({
                kind: "faulted",
                failure: { ...describeFailure(422, body), headline: "The dashboard cannot be served" },
              });
              continue;
            }
            clearTimeout(watchdog);
            current.abort();
            handlers.onState({
              kind: "stopped",
              failure: { ...describeFailure(404, body), headline: "The gateway ended the stream" },
            });
            return;
          }
          if (message.event !== "snapshot") continue;
          const parsed = parseSnapshot(message.data);
          if (!parsed.ok) {
            handlers.onState({
              kind: "stopped",
              failure: { status: 0, headline: "Bad frame", message: parsed.message },
            });
            current.abort();
            return;
          }
          backoffMs = 1_000;
          handlers.onSnapshot(parsed.snapshot);
        }
      }
      clearTimeout(watchdog);
      retry(
        { status: 0, headline: "Stream ended", message: "The gateway closed the stream." },
        parser.retryMs(),
      );
    } catch (error) {
      clearTimeout(watchdog);
      if (closed) return;
      const reason = current.signal.reason instanceof Error ? current.signal.reason : error;
      retry(unreachable(reason), parser.retryMs());
    }
  }

  void connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      controller?.abort();
    },
  };
}

/** NotFound (the Dashboard was deleted) ends the stream on the server's side; other errors do not. */
function endsStream(body: unknown): boolean {
  return typeof body !== "object" || body === null || (body as { error?: unknown }).error === "NotFound";
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
