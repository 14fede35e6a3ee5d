/**
 * The event collector: finds the pipeline, checks every event of the request as the runtime would, and
 * writes the batch to the pipeline's first topic only when all of it is valid. Accepted means the broker
 * acknowledged; a broker that cannot be reached is a 503 with Retry-After. A send that times out may
 * still have been written: the client's retry is then deduplicated by the pipeline's dedup field (the
 * key keeps the retry on the same partition, see event-key.ts).
 */
import type { PipelineObject } from "../../api/v1alpha1/objects.js";
import type { Logger } from "../logger.js";
import type { NamespaceSources } from "../sources/source-registry.js";
import { type CollectBody, parseCollectBody } from "./collect-body.js";
import type { CollectOutcome } from "./collect-outcome.js";
import { type CollectTarget, collectTarget } from "./collect-target.js";
import { type AllowedOrigins, allowedOrigins, collectorOriginsAnnotation } from "./cors.js";
import { eventKey } from "./event-key.js";
import type { EventSink } from "./event-producer.js";
import { checkEvents } from "./event-validation.js";

export type CollectEventOutcome = "accepted" | "invalid" | "failed";

export interface CollectObserver {
  events(labels: { namespace: string; pipeline: string; outcome: CollectEventOutcome }, count: number): void;
  produced(labels: { namespace: string; pipeline: string; outcome: "ok" | "error" }, seconds: number): void;
}

export interface CollectorDeps {
  readonly snapshot: (namespace: string) => Pick<NamespaceSources, "pipelines">;
  readonly sink: EventSink;
  readonly logger: Logger;
  readonly observe?: CollectObserver;
  /** Seconds a client should wait after a 503. */
  readonly retryAfterSeconds?: number;
}

type Resolved = CollectTarget | Extract<CollectOutcome, { kind: "refused" }>;

export class Collector {
  // Per stored object: the watch hands out a new object when the Pipeline changes, so this never goes stale.
  private readonly targets = new WeakMap<PipelineObject, Resolved>();
  private readonly originsSaid = new Set<string>();

  constructor(private readonly deps: CollectorDeps) {}

  private find(namespace: string, name: string): PipelineObject | undefined {
    return this.deps.snapshot(namespace).pipelines.find((p) => p.metadata?.name === name);
  }

  /** The origins the pipeline grants CORS to; undefined when there is no such pipeline. */
  origins(namespace: string, name: string): AllowedOrigins | undefined {
    const pipeline = this.find(namespace, name);
    if (pipeline === undefined) return undefined;
    const allowed = allowedOrigins(pipeline);
    const said = `${namespace}/${name}:${allowed.invalid.join(",")}`;
    if (allowed.invalid.length > 0 && !this.originsSaid.has(said)) {
      this.originsSaid.add(said);
      this.deps.logger.warn(
        { namespace, name, annotation: collectorOriginsAnnotation, invalid: allowed.invalid },
        "collector origins that are not scheme://host[:port] are ignored",
      );
    }
    return allowed;
  }

  /** A request's body as bytes: one event or `{"events": [...]}`, parsed after the pipeline is found. */
  collect(namespace: string, name: string, bytes: Uint8Array): Promise<CollectOutcome> {
    return this.collectFrom(namespace, name, () => parseCollectBody(bytes));
  }

  /** Events already taken out of a request (the text/plain envelope). */
  collectBody(namespace: string, name: string, body: CollectBody): Promise<CollectOutcome> {
    return this.collectFrom(namespace, name, () => body);
  }

  private async collectFrom(
    namespace: string,
    name: string,
    body: () => CollectBody,
  ): Promise<CollectOutcome> {
    const pipeline = this.find(namespace, name);
    if (pipeline === undefined)
      return {
        kind: "refused",
        status: 404,
        body: {
          error: "NotFound",
          message: `Namespace ${namespace} has no pipeline ${name}.`,
          field: "name",
        },
      };
    const target = this.targetOf(namespace, name, pipeline);
    if (target.kind === "refused") return target;
    const parsed = body();
    return parsed.kind === "refused" ? parsed : this.writeEvents(target, parsed.events);
  }

  private async writeEvents(target: CollectTarget, events: readonly unknown[]): Promise<CollectOutcome> {
    const { namespace, name } = target;
    const labels = { namespace, pipeline: name };
    const check = checkEvents(events, target.validate);
    if (check.invalid > 0) {
      this.deps.observe?.events({ ...labels, outcome: "invalid" }, events.length);
      const first = check.problems[0];
      return {
        kind: "refused",
        status: 400,
        body: {
          error: "InvalidEvents",
          message: `${check.invalid} of ${events.length} events do not match pipeline ${name}'s schema, so none was written${first === undefined ? "" : `; first: ${first.path} ${first.message}`}${check.unlisted > 0 ? ` (${check.unlisted} more problems not listed)` : ""}.`,
          ...(first === undefined ? {} : { field: first.path }),
          errors: check.problems,
        },
      };
    }
    const outgoing = events.map((event) => ({
      key: eventKey(event, target.keyFields),
      value: JSON.stringify(event),
    }));
    const started = performance.now();
    try {
      await this.deps.sink.send(target.connection, target.topic, outgoing);
    } catch (error) {
      this.deps.observe?.produced({ ...labels, outcome: "error" }, (performance.now() - started) / 1000);
      this.deps.observe?.events({ ...labels, outcome: "failed" }, events.length);
      this.deps.logger.warn(
        { namespace, name, topic: target.topic, err: error instanceof Error ? error.message : String(error) },
        "collector could not write to Kafka",
      );
      const retryAfterSeconds = this.deps.retryAfterSeconds ?? 5;
      return {
        kind: "refused",
        status: 503,
        retryAfterSeconds,
        body: {
          error: "Unavailable",
          message: `Kafka did not acknowledge the events for topic ${target.topic}: retry in ${retryAfterSeconds} s (the Retry-After header) with the same events; any already written are dropped by the pipeline's dedup.`,
        },
      };
    }
    this.deps.observe?.produced({ ...labels, outcome: "ok" }, (performance.now() - started) / 1000);
    this.deps.observe?.events({ ...labels, outcome: "accepted" }, events.length);
    return { kind: "accepted", accepted: events.length };
  }

  private targetOf(namespace: string, name: string, pipeline: PipelineObject): Resolved {
    const cached = this.targets.get(pipeline);
    if (cached !== undefined) return cached;
    const resolved = collectTarget(namespace, name, pipeline);
    this.targets.set(pipeline, resolved);
    return resolved;
  }
}
