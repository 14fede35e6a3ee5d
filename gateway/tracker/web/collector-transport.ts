/**
 * How batches reach the gateway's collector: the text/plain envelope `{"token", "events"}` (see
 * gateway/collect/collect-envelope.ts), never the token in the URL. A text/plain POST without custom
 * headers is a CORS-simple request, so neither fetch nor the beacon waits for a preflight, and both
 * use the same form. fetch is sent with keepalive, so a request still out when the page goes away is
 * finished by the browser; cookies are never sent (the collector does not use them).
 */
import type { SendResult } from "./event-batcher.js";

export interface CollectorAddress {
  /** `<endpoint>/api/v1/namespaces/<ns>/pipelines/<name>/events` */
  readonly url: string;
  readonly token: string;
}

/** keepalive requests and beacons are limited to 64 KiB in flight per page; stay under it. */
export const keepaliveBodyBytes = 60_000;

export function collectorUrl(endpoint: string, namespace: string, pipeline: string): string {
  const base = endpoint.replace(/\/+$/, "");
  return `${base}/api/v1/namespaces/${encodeURIComponent(namespace)}/pipelines/${encodeURIComponent(pipeline)}/events`;
}

const byteLength = (text: string) => new TextEncoder().encode(text).length;

export function envelopeText(token: string, events: readonly unknown[]): string {
  return JSON.stringify({ token, events });
}

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

async function refusalMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { message?: unknown };
    return typeof body.message === "string" ? body.message : response.statusText;
  } catch {
    return response.statusText;
  }
}

export async function postEvents(address: CollectorAddress, events: readonly unknown[]): Promise<SendResult> {
  const body = envelopeText(address.token, events);
  let response: Response;
  try {
    response = await fetch(address.url, {
      method: "POST",
      body,
      headers: { "content-type": "text/plain;charset=UTF-8" },
      credentials: "omit",
      keepalive: byteLength(body) < keepaliveBodyBytes,
    });
  } catch (error) {
    return { kind: "retry", afterMs: undefined, why: error instanceof Error ? error.message : String(error) };
  }
  if (response.status === 202) return { kind: "sent" };
  if (retryable(response.status)) {
    const seconds = Number(response.headers.get("retry-after"));
    return {
      kind: "retry",
      afterMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined,
      why: `status ${response.status}`,
    };
  }
  return { kind: "refused", status: response.status, message: await refusalMessage(response) };
}

/** Queues the batch as a beacon; false when the browser will not take it (too large, or no beacon API). */
export function beaconEvents(address: CollectorAddress, events: readonly unknown[]): boolean {
  const body = envelopeText(address.token, events);
  if (byteLength(body) >= keepaliveBodyBytes || typeof navigator.sendBeacon !== "function") return false;
  // A string body goes as text/plain;charset=UTF-8: CORS-simple, as the beacon must be.
  return navigator.sendBeacon(address.url, body);
}
