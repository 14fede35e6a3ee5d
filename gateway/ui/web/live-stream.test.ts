import { afterEach, describe, expect, it, vi } from "vitest";
import type { DashboardSnapshot } from "./dashboard-snapshot.js";
import { openLiveStream, type StreamState } from "./live-stream.js";

// The stream reader with fetch stubbed: the frames reach the page, the token goes in the header, the
// last event id is sent back on reconnect, a refusal stops it, a 503 is retried.

const snapshot: DashboardSnapshot = { dashboard: "shop", generatedAt: "2026-01-01T00:00:00Z", panels: [] };

function streamOf(text: string): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
}

const refusal = (status: number) =>
  new Response(JSON.stringify({ error: "Unauthenticated", message: "The bearer token is not known." }), {
    status,
  });

function run(responses: Response[]) {
  const requests: { url: string; headers: Record<string, string> }[] = [];
  vi.stubGlobal("sessionStorage", { getItem: (key: string) => (key === "tally.token" ? "tok-1" : null) });
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: { headers: Record<string, string> }) => {
      requests.push({ url, headers: init.headers });
      const next = responses.shift();
      if (next === undefined) throw new Error("no more responses");
      return next;
    }),
  );
  const snapshots: DashboardSnapshot[] = [];
  const states: StreamState[] = [];
  let stoppedResolve: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stoppedResolve = resolve;
  });
  const stream = openLiveStream("/api/v1/namespaces/shop/stream?dashboard=shop", {
    onSnapshot: (s) => snapshots.push(s),
    onState: (s) => {
      states.push(s);
      if (s.kind === "stopped") stoppedResolve();
    },
  });
  return { requests, snapshots, states, stopped, stream };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("live stream reader", () => {
  it("delivers snapshots, sends the token, resumes with Last-Event-ID, and stops on a refused token", async () => {
    const frame = `retry: 5\n: hb\nevent: snapshot\nid: v7\ndata: ${JSON.stringify(snapshot)}\n\n`;
    const { requests, snapshots, states, stopped, stream } = run([streamOf(frame), refusal(401)]);
    await stopped;
    stream.close();
    expect(snapshots).toEqual([snapshot]);
    expect(requests.map((r) => r.headers.authorization)).toEqual(["Bearer tok-1", "Bearer tok-1"]);
    expect(requests[0]?.headers["last-event-id"]).toBeUndefined();
    expect(requests[1]?.headers["last-event-id"]).toBe("v7");
    expect(states.map((s) => s.kind)).toEqual([
      "connecting",
      "live",
      "live",
      "retrying",
      "connecting",
      "stopped",
    ]);
    const last = states.at(-1);
    expect(last?.kind === "stopped" && last.failure).toMatchObject({
      status: 401,
      headline: "Token refused",
    });
  });

  it("retries a 503, and ends on an error frame with its message", async () => {
    const gone = `event: error\ndata: ${JSON.stringify({ error: "NotFound", message: "dashboard shop was deleted" })}\n\n`;
    const { states, stopped, stream } = run([refusal(503), streamOf(gone)]);
    await stopped;
    stream.close();
    expect(states.map((s) => s.kind)).toEqual(["connecting", "retrying", "connecting", "live", "stopped"]);
    const last = states.at(-1);
    expect(last?.kind === "stopped" && last.failure.message).toBe("dashboard shop was deleted");
  });

  it("shows an InvalidDashboard error frame and keeps reading: the snapshot after the fix arrives", async () => {
    const broken = JSON.stringify({
      error: "InvalidDashboard",
      message: "title is required",
      field: "spec.title",
    });
    const frames = `event: error\ndata: ${broken}\n\nevent: snapshot\nid: v2\ndata: ${JSON.stringify(snapshot)}\n\n`;
    const { states, snapshots, stopped, stream } = run([streamOf(frames), refusal(401)]);
    await stopped;
    stream.close();
    const faulted = states.find((s) => s.kind === "faulted");
    expect(faulted?.kind === "faulted" && faulted.failure).toMatchObject({
      headline: "The dashboard cannot be served",
      message: "title is required",
      field: "spec.title",
    });
    expect(snapshots).toEqual([snapshot]);
  });
});
