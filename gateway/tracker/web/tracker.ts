/**
 * The browser tracker served at the gateway's `/tracker.js` (an IIFE bundle): defines `window.tally`.
 *
 *   <script src="https://gateway.example.com/tracker.js"></script>
 *   <script>tally.init({ namespace: "shop", pipeline: "clickstream", token: "<write token>" })</script>
 *
 * Page views and clicks on `data-tally-event` elements are recorded by themselves, `tally.track(name,
 * props)` records anything else, `tally.identify(id)` replaces the anonymous id. Events are batched
 * (`maxBatch` events or `flushIntervalMs`), retried with the same event ids, and sent by beacon when
 * the page is hidden or left. The token is a write-only token: public in the page by design; it is
 * never logged (see gateway/README.md, "Tracker").
 */
import { captureMarkedClicks, capturePageViews } from "./auto-capture.js";
import { beaconEvents, type CollectorAddress, collectorUrl, postEvents } from "./collector-transport.js";
import { EventBatcher } from "./event-batcher.js";
import {
  type FieldMapping,
  fieldMappingOf,
  type JsonValue,
  type Properties,
  shapeEvent,
} from "./event-shape.js";
import { randomId } from "./random-id.js";
import { VisitorIdentity } from "./visitor-identity.js";

export interface TallyConfig {
  /** The gateway's base URL; default: where tracker.js was loaded from. */
  readonly endpoint?: string;
  readonly namespace: string;
  readonly pipeline: string;
  /** A token whose Secret has `scopes: write` for the namespace (and nothing else). */
  readonly token: string;
  /** JSON keys of the standard parts (default: event_id, user_id, session_id, type, url, ts). */
  readonly fields?: Partial<FieldMapping>;
  /** The type of a page view event (default `page_view`). */
  readonly pageViewType?: string;
  readonly maxBatch?: number;
  readonly flushIntervalMs?: number;
  readonly capturePageViews?: boolean;
  readonly captureClicks?: boolean;
  /** A tab's session id is renewed after this long without an event (default 30 minutes). */
  readonly sessionIdleMs?: number;
}

export interface Tally {
  init(config: TallyConfig): void;
  track(name: string, properties?: Properties): void;
  /** Records a page view of the current URL (automatic ones need no call). */
  page(properties?: Properties): void;
  identify(userId: string): void;
  reset(): void;
  /** Sends what is queued now; resolves when that request ended. */
  flush(): Promise<void>;
  /** Events queued or in a request still out. */
  pending(): number;
}

declare global {
  interface Window {
    tally: Tally;
  }
}

// Read while this script runs: document.currentScript is null afterwards.
const scriptOrigin = (() => {
  const script = document.currentScript;
  return script instanceof HTMLScriptElement && script.src !== "" ? new URL(script.src).origin : undefined;
})();

const warn = (message: string) => console.warn(`[tally] ${message}`);

function required(config: Partial<TallyConfig>, key: "namespace" | "pipeline" | "token"): string {
  const value = config[key];
  if (typeof value !== "string" || value === "")
    throw new Error(`tally.init: ${key} must be a non-empty string`);
  return value;
}

function positive(value: number | undefined, fallback: number, key: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`tally.init: ${key} must be a positive number`);
  return value;
}

interface Running {
  readonly record: (type: string, properties: Properties) => void;
  readonly identity: VisitorIdentity;
  readonly batcher: EventBatcher<Record<string, JsonValue>>;
  readonly pageViewType: string;
}

function start(config: TallyConfig): Running {
  const endpoint = config.endpoint ?? scriptOrigin;
  if (endpoint === undefined)
    throw new Error("tally.init: endpoint is required when tracker.js is not loaded by URL");
  const address: CollectorAddress = {
    url: collectorUrl(endpoint, required(config, "namespace"), required(config, "pipeline")),
    token: required(config, "token"),
  };
  const mapping = fieldMappingOf(config.fields);
  const identity = new VisitorIdentity(positive(config.sessionIdleMs, 30 * 60_000, "sessionIdleMs"));
  const batcher = new EventBatcher<Record<string, JsonValue>>({
    maxBatch: Math.min(500, Math.floor(positive(config.maxBatch, 20, "maxBatch"))),
    flushIntervalMs: positive(config.flushIntervalMs, 1_000, "flushIntervalMs"),
    maxQueued: 1_000,
    maxAttempts: 8,
    send: (events) => postEvents(address, events),
    schedule: (run, ms) => {
      const timer = window.setTimeout(run, ms);
      return () => window.clearTimeout(timer);
    },
    report: warn,
  });
  const record = (type: string, properties: Properties) => {
    const now = Date.now();
    const event = {
      eventId: randomId(),
      userId: identity.userId(),
      sessionId: identity.sessionId(now),
      type,
      url: window.location.href,
      ts: new Date(now).toISOString(),
      properties,
    };
    batcher.add(shapeEvent(event, mapping));
  };
  // The last moment a page is sure to run: hidden (tab switched, app backgrounded) or left.
  const sendByBeacon = () => batcher.drain((events) => beaconEvents(address, events));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") sendByBeacon();
  });
  window.addEventListener("pagehide", sendByBeacon);
  const pageViewType = config.pageViewType ?? "page_view";
  if (config.capturePageViews !== false) capturePageViews(() => record(pageViewType, {}));
  if (config.captureClicks !== false) captureMarkedClicks((name, properties) => record(name, properties));
  return { record, identity, batcher, pageViewType };
}

function createTally(): Tally {
  let running: Running | undefined;
  const whenRunning = (what: string, use: (r: Running) => void) => {
    if (running === undefined) warn(`${what} before tally.init: ignored`);
    else use(running);
  };
  return {
    init(config) {
      if (running !== undefined) return warn("tally.init called again: ignored");
      running = start(config);
    },
    track(name, properties = {}) {
      if (typeof name !== "string" || name === "")
        throw new Error("tally.track: name must be a non-empty string");
      whenRunning("tally.track", (r) => r.record(name, properties));
    },
    page(properties = {}) {
      whenRunning("tally.page", (r) => r.record(r.pageViewType, properties));
    },
    identify(userId) {
      whenRunning("tally.identify", (r) => r.identity.identify(userId));
    },
    reset() {
      whenRunning("tally.reset", (r) => r.identity.reset());
    },
    flush: () => running?.batcher.flush() ?? Promise.resolve(),
    pending: () => running?.batcher.pending ?? 0,
  };
}

window.tally = createTally();
