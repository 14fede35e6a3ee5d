/**
 * The live stream's fan-out: one view per distinct (namespace, dashboard or ad-hoc query, filter), shared
 * by all its subscribers. Every poll (100 ms by default) the hub reads each watched pipeline's change
 * token once (one Redis round trip for all of them, whatever the number of views); a view whose panels
 * may have changed (refresh-decision.ts) reads them at once, but at most once per tick (1 s by default),
 * whatever the number of subscribers, and sends a snapshot frame when what the panels show changed. So a
 * change reaches the subscribers within a poll plus a read, and a busy pipeline costs each view at most
 * one read per tick. Views left without subscribers are dropped at the next poll.
 */

import { pipelineDefaults } from "../../api/v1alpha1/defaults.js";
import { parseDuration } from "../../api/v1alpha1/duration.js";
import type { ErrorResponse, QueryRequest } from "../../api/v1alpha1/query.js";
import type { DashboardSnapshot, PanelSnapshot } from "../../api/v1alpha1/stream.js";
import { errorReply } from "../http/error-reply.js";
import type { Logger } from "../logger.js";
import type { SourceSnapshot } from "../query/create-query-service.js";
import type { QueryService } from "../query/query-service.js";
import { resolveTimeRange } from "../query/time-range.js";
import { type ChangeToken, pipelineKey, type TrackedPipeline } from "./change-token.js";
import type { DashboardLookup } from "./dashboard-watch.js";
import { FrameSlot } from "./frame-slot.js";
import {
  adHocPanel,
  dashboardPanels,
  type GroupByOf,
  type PanelPlan,
  panelPipeline,
} from "./panel-requests.js";
import { afterRead, decideRefresh, type PanelReadState, type RefreshReason } from "./refresh-decision.js";
import { snapshotVersion } from "./snapshot-version.js";
import { errorFrame, heartbeatFrame, snapshotFrame } from "./sse-frame.js";
import { type ViewSpec, viewKey } from "./view-key.js";

export interface StreamSettings {
  /** The least time between two reads of one view. */
  readonly tickMs: number;
  /** How often the change tokens are read. */
  readonly pollMs: number;
  readonly heartbeatMs: number;
  /** How often a panel whose pipeline has no change token (no Redis sink) is re-read. */
  readonly untrackedEveryMs: number;
}

export const defaultStreamSettings: StreamSettings = {
  tickMs: 1_000,
  pollMs: 100,
  heartbeatMs: 15_000,
  untrackedEveryMs: 10_000,
};

export interface StreamObserver {
  readonly subscribers: (count: number) => void;
  readonly views: (count: number) => void;
  /** One view read its changed panels (at most once per view per tick). */
  readonly viewRead: () => void;
  readonly panelQueries: (count: number) => void;
  readonly droppedFrames: () => void;
  readonly tick: (seconds: number) => void;
}

/** One subscriber's socket, as the route hands it over. */
export interface StreamConnection {
  /** Writes a frame; false when the socket's buffer is full (the route calls `drained` once it empties). */
  write(frame: string): boolean;
  close(): void;
}

export interface Subscription {
  /** The socket drained: send the frame held meanwhile. */
  drained(): void;
  /** The client went away. */
  close(): void;
}

export interface StreamHubDeps {
  readonly query: QueryService;
  /** Every tracked pipeline's change token (readChangeTokens on the runtime's Redis); undefined without Redis. */
  readonly readTokens:
    | ((pipelines: readonly TrackedPipeline[]) => Promise<Map<string, ChangeToken | undefined>>)
    | undefined;
  readonly dashboards: DashboardLookup;
  readonly sources: (namespace: string) => SourceSnapshot;
  readonly logger: Logger;
  readonly now: () => number;
  readonly settings: StreamSettings;
  readonly observer?: StreamObserver;
}

interface Subscriber {
  readonly connection: StreamConnection;
  readonly slot: FrameSlot;
  lastWriteAtMs: number;
  /** The version the client has: its Last-Event-ID, then each frame sent. */
  sentVersion: string | undefined;
}

interface Frame {
  readonly version: string;
  readonly text: string;
}

interface View {
  readonly key: string;
  readonly spec: ViewSpec;
  readonly subscribers: Set<Subscriber>;
  /** The Dashboard's resourceVersion the panels were planned from. */
  plannedFrom: string | undefined;
  panels: readonly PanelPlan[];
  states: Map<string, PanelReadState>;
  results: Map<string, PanelSnapshot>;
  frame: Frame | undefined;
  reading: boolean;
  lastReadAtMs: number | undefined;
}

interface PlannedPanel {
  readonly plan: Extract<PanelPlan, { kind: "query" }>;
  readonly reason: RefreshReason;
  readonly token: ChangeToken | undefined;
  readonly range: string | undefined;
}

type PipelineInfo = { readonly redis: boolean; readonly windows: readonly string[]; readonly ttlMs: number };

function rangeKey(request: QueryRequest, nowMs: number): string | undefined {
  try {
    const range = resolveTimeRange(request.timeRange, request.granularity, request.timezone, nowMs);
    return `${range.fromMs}/${range.toMs}`;
  } catch {
    return undefined;
  }
}

/** What the hub needs of a stored Pipeline spec: whether it writes to Redis, and its windows. */
function pipelineInfo(spec: unknown): PipelineInfo {
  const s = (typeof spec === "object" && spec !== null ? spec : {}) as {
    sink?: { redis?: { ttl?: unknown } };
    windows?: { name?: unknown }[];
  };
  let ttlMs = parseDuration(pipelineDefaults["sink.redis.ttl"], "sink.redis.ttl");
  try {
    if (typeof s.sink?.redis?.ttl === "string") ttlMs = parseDuration(s.sink.redis.ttl, "sink.redis.ttl");
  } catch {
    // the default: an unreadable TTL only makes tokens look settled or not a little wrongly
  }
  return {
    ttlMs,
    redis: s.sink?.redis !== undefined,
    windows: (Array.isArray(s.windows) ? s.windows : []).flatMap((w) =>
      typeof w.name === "string" ? [w.name] : [],
    ),
  };
}

export class StreamHub {
  private readonly views = new Map<string, View>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private subscriberCount = 0;

  constructor(private readonly deps: StreamHubDeps) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.deps.settings.pollMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const view of this.views.values()) for (const s of view.subscribers) s.connection.close();
    this.views.clear();
  }

  /** Whether the named Dashboard exists (the route answers 404 before streaming otherwise). */
  dashboardExists(namespace: string, name: string): boolean {
    return this.deps.dashboards.get(namespace, name) !== undefined;
  }

  subscribe(spec: ViewSpec, lastEventId: string | undefined, connection: StreamConnection): Subscription {
    const key = viewKey(spec);
    let view = this.views.get(key);
    const created = view === undefined;
    if (view === undefined) {
      view = {
        key,
        spec,
        subscribers: new Set(),
        plannedFrom: undefined,
        panels: [],
        states: new Map(),
        results: new Map(),
        frame: undefined,
        reading: false,
        lastReadAtMs: undefined,
      };
      this.views.set(key, view);
    }
    const subscriber: Subscriber = {
      connection,
      slot: new FrameSlot(),
      lastWriteAtMs: this.deps.now(),
      sentVersion: lastEventId,
    };
    view.subscribers.add(subscriber);
    this.counted(1);
    if (view.frame !== undefined) this.send(subscriber, view.frame);
    // A new view answers at once rather than at the next tick.
    if (created) void this.refreshNow(view);
    const owner = view;
    return {
      drained: () => {
        const held = subscriber.slot.drained();
        if (held !== undefined) this.write(subscriber, held);
      },
      close: () => {
        if (owner.subscribers.delete(subscriber)) this.counted(-1);
      },
    };
  }

  private counted(delta: number): void {
    this.subscriberCount += delta;
    this.deps.observer?.subscribers(this.subscriberCount);
  }

  /** One poll: drop empty views, read the tokens, refresh the views that may have changed, send heartbeats. */
  async tick(): Promise<void> {
    if (this.polling) return; // the previous poll is still reading the tokens: this one is skipped
    this.polling = true;
    const started = performance.now();
    let reads: Promise<void>[] = [];
    try {
      for (const [key, view] of this.views) if (view.subscribers.size === 0) this.views.delete(key);
      this.deps.observer?.views(this.views.size);
      const views = [...this.views.values()].filter((v) => this.plan(v));
      const tokens = await this.tokens(views);
      // Reads run on while the next polls go on: a view being read is skipped by them (view.reading),
      // and a slow read holds up no other view.
      reads = views.map((v) => this.refresh(v, tokens).catch((error: unknown) => this.readFailed(error)));
      this.heartbeats();
    } catch (error) {
      this.readFailed(error);
    } finally {
      this.polling = false;
    }
    await Promise.all(reads);
    this.deps.observer?.tick((performance.now() - started) / 1000);
  }

  private readFailed(error: unknown): void {
    this.deps.logger.error(
      { err: error instanceof Error ? error.message : String(error) },
      "stream read failed",
    );
  }

  private async refreshNow(view: View): Promise<void> {
    try {
      if (!this.plan(view)) return;
      await this.refresh(view, await this.tokens([view]));
    } catch (error) {
      this.readFailed(error);
    }
  }

  /**
   * (Re)plans a view's panels from its Dashboard when the Dashboard changed; a deleted Dashboard ends
   * the view's streams with an error frame. False when the view is gone.
   */
  private plan(view: View): boolean {
    const { namespace, source, filter } = view.spec;
    if (source.kind === "query") {
      if (view.plannedFrom === undefined) {
        view.panels = [adHocPanel(source.request, filter)];
        view.plannedFrom = "query";
      }
      return true;
    }
    const dashboard = this.deps.dashboards.get(namespace, source.name);
    if (dashboard === undefined) {
      this.end(view, {
        error: "NotFound",
        message: `Dashboard ${source.name} no longer exists in namespace ${namespace}.`,
        field: "dashboard",
      });
      return false;
    }
    const version = dashboard.metadata?.resourceVersion ?? "";
    if (view.plannedFrom === version) return true;
    const planned = dashboardPanels(dashboard.spec, filter, this.groupByOf(namespace));
    view.plannedFrom = version;
    view.states = new Map();
    view.results = new Map();
    if (planned.kind === "invalid") {
      view.panels = [];
      this.publish(view, { version: `invalid-${snapshotVersion([])}`, text: errorFrame(planned.error) });
      return false;
    }
    view.panels = planned.panels;
    for (const panel of planned.panels)
      if (panel.kind === "invalid")
        view.results.set(panel.name, {
          name: panel.name,
          ...(panel.title === undefined ? {} : { title: panel.title }),
          visualization: panel.visualization,
          status: "error",
          error: panel.error,
        });
    return true;
  }

  private groupByOf(namespace: string): GroupByOf {
    return (pipeline, window) => {
      const object = this.deps.sources(namespace).pipelines.find((p) => p.metadata?.name === pipeline);
      const windows = (object?.spec as { windows?: { name?: unknown; groupBy?: unknown }[] } | undefined)
        ?.windows;
      const found = Array.isArray(windows) ? windows.find((w) => w.name === window) : undefined;
      return Array.isArray(found?.groupBy)
        ? found.groupBy.filter((g): g is string => typeof g === "string")
        : undefined;
    };
  }

  private end(view: View, error: ErrorResponse): void {
    const text = errorFrame(error);
    for (const subscriber of view.subscribers) {
      subscriber.connection.write(text);
      subscriber.connection.close();
    }
    this.counted(-view.subscribers.size);
    view.subscribers.clear();
    this.views.delete(view.key);
  }

  /** The pipelines of the views' panels, for the token read. */
  private pipelinesOf(view: View): { key: string; tracked: TrackedPipeline | undefined }[] {
    const pipelines = this.deps.sources(view.spec.namespace).pipelines;
    const names = pipelines.flatMap((p) => (p.metadata?.name === undefined ? [] : [p.metadata.name]));
    return view.panels.flatMap((panel) => {
      if (panel.kind !== "query") return [];
      const name = panelPipeline(panel.request, names);
      if (name === undefined) return [];
      const object = pipelines.find((p) => p.metadata?.name === name);
      const info = pipelineInfo(object?.spec);
      const key = pipelineKey(view.spec.namespace, name);
      return [
        {
          key,
          tracked: info.redis
            ? { namespace: view.spec.namespace, pipeline: name, windows: info.windows, ttlMs: info.ttlMs }
            : undefined,
        },
      ];
    });
  }

  private async tokens(views: readonly View[]): Promise<Map<string, ChangeToken | undefined>> {
    const tracked = new Map<string, TrackedPipeline>();
    for (const view of views)
      for (const { key, tracked: t } of this.pipelinesOf(view)) if (t !== undefined) tracked.set(key, t);
    if (this.deps.readTokens === undefined || tracked.size === 0) return new Map();
    return this.deps.readTokens([...tracked.values()]);
  }

  /** Reads the panels that may have changed (at most one read of the view), then publishes if the answer did. */
  private async refresh(view: View, tokens: ReadonlyMap<string, ChangeToken | undefined>): Promise<void> {
    if (view.reading || view.subscribers.size === 0) return;
    const nowMs = this.deps.now();
    // One read per view per tick: a change meanwhile is still pending (its token differs) at the next poll.
    if (view.lastReadAtMs !== undefined && nowMs - view.lastReadAtMs < this.deps.settings.tickMs) return;
    const names = this.deps
      .sources(view.spec.namespace)
      .pipelines.flatMap((p) => (p.metadata?.name === undefined ? [] : [p.metadata.name]));
    const due: PlannedPanel[] = [];
    for (const plan of view.panels) {
      if (plan.kind !== "query") continue;
      const pipeline = panelPipeline(plan.request, names);
      const token =
        pipeline === undefined ? undefined : tokens.get(pipelineKey(view.spec.namespace, pipeline));
      const range = rangeKey(plan.request, nowMs);
      const decision = decideRefresh({
        last: view.states.get(plan.name),
        refresh: plan.refresh,
        token: token?.token,
        settled: token?.settled ?? false,
        range,
        nowMs,
        untrackedEveryMs: this.deps.settings.untrackedEveryMs,
      });
      if (decision.read) due.push({ plan, reason: decision.reason, token, range });
    }
    if (due.length > 0) {
      view.reading = true;
      view.lastReadAtMs = nowMs;
      this.deps.observer?.viewRead();
      this.deps.observer?.panelQueries(due.length);
      try {
        await Promise.all(due.map((panel) => this.readPanel(view, panel, nowMs)));
      } finally {
        view.reading = false;
      }
    }
    if (view.frame === undefined || due.length > 0) this.publishSnapshot(view, nowMs);
  }

  private async readPanel(view: View, panel: PlannedPanel, nowMs: number): Promise<void> {
    const { plan } = panel;
    const common = {
      name: plan.name,
      ...(plan.title === undefined ? {} : { title: plan.title }),
      visualization: plan.visualization,
    };
    let failed = false;
    try {
      // Past the cache: the token says the data moved, and the answer refreshes the cache for /query.
      const response = await this.deps.query.query(view.spec.namespace, plan.request, {
        explainOnly: false,
        bypassCache: true,
      });
      view.results.set(plan.name, { ...common, status: "ok", response });
    } catch (error) {
      const reply = errorReply(error);
      failed = reply.status >= 500;
      if (reply.fault)
        this.deps.logger.warn(
          {
            namespace: view.spec.namespace,
            panel: plan.name,
            err: error instanceof Error ? error.message : String(error),
          },
          "stream panel read failed",
        );
      view.results.set(plan.name, { ...common, status: "error", error: reply.body });
    }
    view.states.set(
      plan.name,
      afterRead(
        { token: panel.token?.token, settled: panel.token?.settled ?? false, range: panel.range, nowMs },
        failed,
      ),
    );
  }

  private publishSnapshot(view: View, nowMs: number): void {
    const panels = view.panels.flatMap((p) => {
      const result = view.results.get(p.name);
      return result === undefined ? [] : [result];
    });
    if (panels.length !== view.panels.length) return; // a first read is still out
    const version = snapshotVersion(panels);
    if (view.frame?.version === version) return;
    const snapshot: DashboardSnapshot = {
      dashboard: view.spec.source.kind === "dashboard" ? view.spec.source.name : null,
      generatedAt: new Date(nowMs).toISOString(),
      panels,
    };
    this.publish(view, { version, text: snapshotFrame(version, snapshot) });
  }

  private publish(view: View, frame: Frame): void {
    view.frame = frame;
    for (const subscriber of view.subscribers) this.send(subscriber, frame);
  }

  private send(subscriber: Subscriber, frame: Frame): void {
    if (subscriber.sentVersion === frame.version) return; // e.g. a reconnect with Last-Event-ID
    subscriber.sentVersion = frame.version;
    const offer = subscriber.slot.offer(frame.text);
    if (offer.kind === "write") this.write(subscriber, offer.frame);
    else if (offer.dropped) this.deps.observer?.droppedFrames();
  }

  private write(subscriber: Subscriber, text: string): void {
    subscriber.slot.wrote(subscriber.connection.write(text));
    subscriber.lastWriteAtMs = this.deps.now();
  }

  private heartbeats(): void {
    const nowMs = this.deps.now();
    for (const view of this.views.values())
      for (const subscriber of view.subscribers)
        if (subscriber.slot.idle && nowMs - subscriber.lastWriteAtMs >= this.deps.settings.heartbeatMs)
          this.write(subscriber, heartbeatFrame);
  }
}
